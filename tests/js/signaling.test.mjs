// The signaling socket's heartbeat (public/js/signaling.js), against a fake
// WebSocket and node's mock timers: a socket that stops carrying messages is
// given up and a new one opened, without waiting for the dead one to close.
import test from 'node:test';
import assert from 'node:assert/strict';

class FakeSocket {
  static OPEN = 1;
  static all = [];
  constructor(url) {
    this.url = url;
    this.readyState = FakeSocket.OPEN;
    this.sent = [];
    this.closed = false;
    FakeSocket.all.push(this);
  }
  send(text) {
    this.sent.push(JSON.parse(text));
  }
  close() {
    // A dead network: the close never completes, onclose never fires.
    this.closed = true;
  }
  deliver(message) {
    this.onmessage({ data: JSON.stringify(message) });
  }
  pings() {
    return this.sent.filter((m) => m.type === 'ping').length;
  }
}

globalThis.WebSocket = FakeSocket;
const { Signaling, HEARTBEAT_MS, HEARTBEAT_WAIT_MS } = await import('../../public/js/signaling.js');

function connected(t) {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  FakeSocket.all = [];
  const signaling = new Signaling('wss://x/rtc');
  const states = [];
  const messages = [];
  signaling.addEventListener('state', (e) => states.push(e.detail.connected));
  signaling.addEventListener('message', (e) => messages.push(e.detail));
  signaling.start();
  const ws = FakeSocket.all[0];
  ws.onopen();
  ws.deliver({ type: 'ready', id: 'a', version: 'v', iceServers: [] });
  return { signaling, ws, states, messages };
}

test('a live socket answers each ping and stays; pongs are not passed on', (t) => {
  const { signaling, ws, messages } = connected(t);
  t.mock.timers.tick(HEARTBEAT_MS);
  for (let i = 1; i <= 3; i += 1) {
    assert.equal(ws.pings(), i);
    t.mock.timers.tick(1000);
    ws.deliver({ type: 'pong' }); // within the wait
    t.mock.timers.tick(HEARTBEAT_MS - 1000);
  }
  assert.equal(signaling.connected, true);
  assert.equal(FakeSocket.all.length, 1);
  assert.deepEqual(messages, []);
  // Any message counts as a sign of life, not only pong.
  assert.equal(ws.pings(), 4);
  t.mock.timers.tick(1000);
  ws.deliver({ type: 'peer', data: { id: 'b', name: 'Bob' } });
  t.mock.timers.tick(HEARTBEAT_WAIT_MS);
  assert.equal(signaling.connected, true);
  assert.equal(messages.length, 1);
  signaling.stop();
});

test('a silent socket is given up after the wait and a new one opened', (t) => {
  const { signaling, ws, states } = connected(t);
  t.mock.timers.tick(HEARTBEAT_MS);
  assert.equal(ws.pings(), 1);
  t.mock.timers.tick(HEARTBEAT_WAIT_MS - 1);
  assert.equal(signaling.connected, true, 'not before the wait is over');
  t.mock.timers.tick(1);
  assert.equal(ws.closed, true);
  assert.equal(signaling.connected, false);
  assert.deepEqual(states, [true, false]);
  // The backoff's first retry is at most a second away.
  t.mock.timers.tick(1000);
  assert.equal(FakeSocket.all.length, 2);
  // What the dead socket brings later is ignored.
  ws.onmessage?.({ data: '{"type":"peer","data":{"id":"z","name":"Zed"}}' });
  const fresh = FakeSocket.all[1];
  fresh.onopen();
  fresh.deliver({ type: 'ready', id: 'b', version: 'v', iceServers: [] });
  assert.equal(signaling.connected, true);
  // The new socket has its own heartbeat.
  t.mock.timers.tick(HEARTBEAT_MS);
  assert.equal(fresh.pings(), 1);
  signaling.stop();
});

test('coming back to the page checks the socket at once', (t) => {
  const { signaling, ws } = connected(t);
  signaling.reconnectNow();
  assert.equal(ws.pings(), 1);
  // Asked again while a check is out: one ping, not two.
  signaling.reconnectNow();
  assert.equal(ws.pings(), 1);
  t.mock.timers.tick(HEARTBEAT_WAIT_MS);
  assert.equal(signaling.connected, false);
  signaling.stop();
});
