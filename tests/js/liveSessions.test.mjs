// Broadcast and Viewing (public/js/live.js) against a stand-in for
// RTCPeerConnection: who is admitted, who is turned away as full, what a
// leaving viewer frees, and what every viewer is told when the stream stops.
// The media itself is covered by tests/live_browser.rs.
import test from 'node:test';
import assert from 'node:assert/strict';

class FakePeerConnection extends EventTarget {
  constructor() {
    super();
    this.transceivers = [];
    this.localDescription = null;
    this.closed = false;
    FakePeerConnection.made += 1;
  }
  get connectionState() {
    return this.state || 'new';
  }
  /** Test hook: the ICE/DTLS connection changes state. */
  become(state) {
    this.state = state;
    this.dispatchEvent(new Event('connectionstatechange'));
  }
  addTransceiver(kind, { direction }) {
    if (typeof kind !== 'string') kind = kind.kind; // a track was given
    const t = {
      direction,
      receiver: { track: { kind } },
      sender: {
        track: null,
        async replaceTrack(track) {
          this.track = track;
        },
        setStreams() {},
      },
    };
    this.transceivers.push(t);
    return t;
  }
  getTransceivers() {
    return this.transceivers;
  }
  async setRemoteDescription(description) {
    // A viewer's offer has one receive-only section per kind.
    if (description.type === 'offer') for (const kind of ['video', 'audio']) this.addTransceiver(kind, { direction: 'recvonly' });
  }
  async createOffer() {
    return { type: 'offer', sdp: 'offer-sdp' };
  }
  async createAnswer() {
    return { type: 'answer', sdp: 'answer-sdp' };
  }
  async setLocalDescription(description) {
    this.localDescription = description;
  }
  async addIceCandidate() {}
  close() {
    this.closed = true;
  }
}
FakePeerConnection.made = 0;
globalThis.RTCPeerConnection = FakePeerConnection;
globalThis.MediaStream = class {
  addTrack() {}
};

const { ApplianceBroadcast, Broadcast, Viewing } = await import('../../public/js/live.js');

function track(kind) {
  return { kind, stopped: false, stop() { this.stopped = true; }, addEventListener() {} };
}

function stream(kinds) {
  const tracks = kinds.map(track);
  return {
    tracks,
    getTracks: () => tracks,
    getVideoTracks: () => tracks.filter((t) => t.kind === 'video'),
  };
}

function broadcast(max, kinds = ['video', 'audio']) {
  const sent = [];
  const b = new Broadcast({
    stream: stream(kinds),
    max,
    iceServers: [],
    send: (m) => sent.push(m) > 0,
    onChange: () => {},
    onSourceEnded: () => {},
  });
  return { b, sent };
}

test('viewers are answered up to the cap; the next is told the broadcaster is full', async () => {
  const { b, sent } = broadcast(2);
  await b.onWatch('a', 'offer-a');
  await b.onWatch('b', 'offer-b');
  const made = FakePeerConnection.made;
  await b.onWatch('c', 'offer-c');
  assert.equal(FakePeerConnection.made, made, 'no connection for a viewer that does not fit');
  const accepts = sent.filter((m) => m.type === 'accept');
  assert.deepEqual(accepts.map((m) => [m.data.target, m.data.sdp, m.data.stream]), [
    ['a', 'answer-sdp', 'broadcaster'],
    ['b', 'answer-sdp', 'broadcaster'],
  ]);
  assert.deepEqual(sent.at(-1), { type: 'reject', data: { target: 'c', reason: 'full', stream: 'broadcaster' } });
  const pc = b.links.get('a').pc;
  assert.deepEqual(pc.transceivers.map((t) => [t.direction, t.sender.track && t.sender.track.kind]), [
    ['sendonly', 'video'],
    ['sendonly', 'audio'],
  ]);
});

test('a viewer who stops watching frees the slot', async () => {
  const { b, sent } = broadcast(1);
  await b.onWatch('a', 'offer');
  const pc = b.links.get('a').pc;
  b.onViewerMessage('hangup', { from: 'a' });
  assert.ok(pc.closed);
  assert.equal(b.slots.count, 0);
  await b.onWatch('c', 'offer');
  assert.equal(sent.at(-1).type, 'accept');
  assert.equal(sent.at(-1).data.target, 'c');
});

test('stopping tells every viewer and releases the camera', async () => {
  const { b, sent } = broadcast(3);
  await b.onWatch('a', 'offer');
  await b.onWatch('b', 'offer');
  const pcs = [...b.links.values()].map((l) => l.pc);
  b.stop();
  const hangups = sent.filter((m) => m.type === 'hangup');
  assert.deepEqual(hangups.map((m) => [m.data.target, m.data.reason, m.data.stream]), [
    ['a', 'stopped', 'broadcaster'],
    ['b', 'stopped', 'broadcaster'],
  ]);
  assert.ok(pcs.every((pc) => pc.closed));
  assert.ok(b.stream.tracks.every((t) => t.stopped));
  await b.onWatch('late', 'offer');
  assert.equal(sent.length, hangups.length + 2, 'a stopped broadcast answers nobody');
});

test('a screen without sound turns the audio section off', async () => {
  const { b } = broadcast(1, ['video']);
  await b.onWatch('a', 'offer');
  assert.deepEqual(b.links.get('a').pc.transceivers.map((t) => t.direction), ['sendonly', 'inactive']);
});

test('a viewer asks receive-only and ends once when turned away', async () => {
  const sent = [];
  const ends = [];
  const v = new Viewing({
    broadcaster: { id: 'b', name: 'Ann' },
    iceServers: [],
    send: (m) => sent.push(m) > 0,
    onStream: () => {},
    onEnd: (reason) => ends.push(reason),
    onChange: () => {},
  });
  await v.start();
  assert.deepEqual(sent[0], { type: 'watch', data: { target: 'b', sdp: 'offer-sdp' } });
  assert.deepEqual(v.link.pc.transceivers.map((t) => [t.receiver.track.kind, t.direction]), [
    ['video', 'recvonly'],
    ['audio', 'recvonly'],
  ]);
  await v.onBroadcasterMessage('reject', { from: 'b', reason: 'full' });
  await v.onBroadcasterMessage('hangup', { from: 'b', reason: 'stopped' });
  assert.deepEqual(ends, ['full']);
  assert.ok(v.link.pc.closed);
});

test('through the appliance: one offer with every track, sent once, answered by the server', async () => {
  const sent = [];
  const media = stream(['video', 'audio']);
  const b = new ApplianceBroadcast({ stream: media, send: (m) => sent.push(m) || true, onSourceEnded() {}, onLost() {} });
  const started = b.start(2000);
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(sent, [{ type: 'publish', data: { sdp: 'offer-sdp' } }]);
  assert.deepEqual(b.pc.getTransceivers().map((t) => [t.receiver.track.kind, t.direction]), [
    ['video', 'sendonly'],
    ['audio', 'sendonly'],
  ]);
  b.onAnswer('answer-sdp');
  await new Promise((r) => setTimeout(r, 0));
  b.pc.become('connected');
  await started;
  assert.equal(b.up, true);
  b.stop();
  assert.deepEqual(sent.at(-1), { type: 'unpublish' });
  assert.ok(b.pc.closed && media.tracks.every((t) => t.stopped));
});

test('through the appliance: a refusal or silence rejects, keeping the capture for a fallback', async () => {
  const media = stream(['video']);
  const refused = new ApplianceBroadcast({ stream: media, send: () => true, onSourceEnded() {}, onLost() {} });
  const started = refused.start(2000);
  await new Promise((r) => setTimeout(r, 0));
  refused.onRefused('The media server is busy');
  await assert.rejects(started, /busy/);
  assert.ok(refused.pc.closed);
  assert.ok(media.tracks.every((t) => !t.stopped), 'the camera stays on for the device-to-device fallback');

  const sent = [];
  const silent = new ApplianceBroadcast({ stream: media, send: (m) => sent.push(m) || true, onSourceEnded() {}, onLost() {} });
  await assert.rejects(silent.start(30), /in time/);
  assert.deepEqual(sent.at(-1), { type: 'unpublish' }, 'the server is told to drop the half-made session');
});

test('through the appliance: losing the connection once up is reported', async () => {
  let lost = null;
  const b = new ApplianceBroadcast({ stream: stream(['video']), send: () => true, onSourceEnded() {}, onLost: (r) => (lost = r) });
  const started = b.start(2000);
  await new Promise((r) => setTimeout(r, 0));
  b.onAnswer('answer-sdp');
  await new Promise((r) => setTimeout(r, 0));
  b.pc.become('connected');
  await started;
  b.pc.become('failed');
  assert.equal(lost, 'failed');
});

test('a viewer learns which path its stream takes from the answer', async () => {
  const sent = [];
  const v = new Viewing({
    broadcaster: { id: 'b', name: 'B' },
    iceServers: [],
    send: (m) => sent.push(m) || true,
    onStream() {},
    onEnd() {},
    onChange() {},
  });
  await v.start();
  assert.equal(v.via, null);
  await v.onBroadcasterMessage('accept', { from: 'b', sdp: 'answer-sdp', via: 'appliance' });
  assert.equal(v.via, 'appliance');
});
