import test from 'node:test';
import assert from 'node:assert/strict';
import * as p from '../../public/js/logic/protocol.js';

test('client messages have the documented shape', () => {
  assert.deepEqual(p.identify('id1', 'Ann'), { type: 'identify', data: { id: 'id1', name: 'Ann' } });
  assert.deepEqual(p.offer('t', 'v=0'), {
    type: 'offer',
    data: { type: 'offer', sdp: 'v=0', target: 't' },
  });
  assert.deepEqual(p.accept('t', 'v=0'), {
    type: 'accept',
    data: { type: 'answer', sdp: 'v=0', target: 't' },
  });
  const cand = { candidate: 'candidate:1', sdpMid: '0', sdpMLineIndex: 0 };
  assert.deepEqual(p.iceCandidate('t', cand), {
    type: 'icecandidate',
    data: { target: 't', candidate: cand },
  });
  assert.deepEqual(p.iceCandidate('t', null), {
    type: 'icecandidate',
    data: { target: 't', candidate: null },
  });
  assert.deepEqual(p.reject('t', 'busy'), { type: 'reject', data: { target: 't', reason: 'busy' } });
  assert.deepEqual(p.hangup('t'), { type: 'hangup', data: { target: 't' } });
  assert.deepEqual(p.hangup('t', 'timeout'), {
    type: 'hangup',
    data: { target: 't', reason: 'timeout' },
  });
});

test('server frames must be objects with a string type', () => {
  assert.deepEqual(p.parseServerMessage('{"type":"ready","id":"x"}'), { type: 'ready', id: 'x' });
  for (const bad of ['', 'nope', '[]', 'null', '"ready"', '{}', '{"type":3}', null, 5]) {
    assert.equal(p.parseServerMessage(bad), null, String(bad));
  }
});

test('relays are read from the server-stamped source', () => {
  assert.deepEqual(
    p.readRelay({ type: 'offer', data: { sdp: 'v=0', target: 'me', source: 'them' } }),
    { from: 'them', stream: undefined, sdp: 'v=0' },
  );
  assert.deepEqual(p.readRelay({ type: 'reject', data: { source: 's', reason: 'busy' } }), {
    from: 's',
    stream: undefined,
    reason: 'busy',
  });
  assert.deepEqual(p.readRelay({ type: 'hangup', data: { source: 's', reason: 7 } }), {
    from: 's',
    stream: undefined,
    reason: undefined,
  });
  assert.deepEqual(p.readRelay({ type: 'icecandidate', data: { source: 's', candidate: null } }), {
    from: 's',
    stream: undefined,
    candidate: null,
  });
  const cand = { candidate: 'candidate:1', sdpMid: '0' };
  assert.deepEqual(p.readRelay({ type: 'icecandidate', data: { source: 's', id: 's', candidate: cand } }), {
    from: 's',
    stream: undefined,
    candidate: cand,
  });
});

test('watch and the stream side are read', () => {
  assert.deepEqual(p.readRelay({ type: 'watch', data: { source: 'v', sdp: 'v=0' } }), {
    from: 'v',
    stream: undefined,
    sdp: 'v=0',
  });
  assert.equal(p.readRelay({ type: 'watch', data: { source: 'v' } }), null);
  assert.equal(
    p.readRelay({ type: 'hangup', data: { source: 'b', stream: 'broadcaster', reason: 'stopped' } }).stream,
    'broadcaster',
  );
});

test('identify carries live only while live', () => {
  assert.deepEqual(p.identify('i', 'Ann'), { type: 'identify', data: { id: 'i', name: 'Ann' } });
  assert.deepEqual(p.identify('i', 'Ann', true).data, { id: 'i', name: 'Ann', live: true });
  assert.deepEqual(p.identify('i', 'Ann', false, { id: 'old', token: 't', extra: 1 }).data, {
    id: 'i',
    name: 'Ann',
    rejoin: { id: 'old', token: 't' },
  });
});

test('malformed relays are refused', () => {
  for (const bad of [
    { type: 'offer', data: { sdp: 'v=0' } },
    { type: 'offer', data: { source: 's' } },
    { type: 'accept', data: { source: 's', sdp: 5 } },
    { type: 'icecandidate', data: { source: 's', candidate: 'x' } },
    { type: 'icecandidate', data: { source: 's', candidate: {} } },
    { type: 'offer', data: null },
    { type: 'offer' },
    { type: 'dance', data: { source: 's' } },
  ]) {
    assert.equal(p.readRelay(bad), null, JSON.stringify(bad));
  }
});

test('data channel messages follow the SitePen format', () => {
  assert.equal(p.chatMessage('hi'), '{"type":"chat","data":"hi"}');
  assert.equal(p.disconnectMessage(), '{"type":"disconnect"}');
  assert.deepEqual(p.parseChannelMessage('{"type":"chat","data":"hi"}'), { type: 'chat', text: 'hi' });
  assert.deepEqual(p.parseChannelMessage('{"type":"disconnect"}'), { type: 'disconnect' });
  assert.deepEqual(p.parseChannelMessage(p.toMeetingMessage()), { type: 'meeting' });
  for (const bad of ['hi', '{"type":"chat","data":5}', '{"type":"x"}', '[]', null]) {
    assert.equal(p.parseChannelMessage(bad), null, String(bad));
  }
  const long = p.parseChannelMessage(p.chatMessage('x'.repeat(5000)));
  assert.equal(long.text.length, p.MAX_CHAT_CHARS);
});

test('an accept says whether the appliance answered for the broadcaster', () => {
  const base = { type: 'accept', data: { source: 'b', sdp: 'x', stream: 'broadcaster' } };
  assert.equal(p.readRelay(base).via, 'direct');
  assert.equal(p.readRelay({ ...base, data: { ...base.data, via: 'appliance' } }).via, 'appliance');
  assert.equal(p.readRelay({ ...base, data: { ...base.data, via: 7 } }).via, 'direct');
});

test('the other side\'s microphone and camera state travels on the data channel', () => {
  assert.equal(p.mediaMessage(false, true), '{"type":"media","data":{"audio":false,"video":true}}');
  assert.deepEqual(p.parseChannelMessage(p.mediaMessage(true, false)), { type: 'media', audio: true, video: false });
  for (const bad of ['{"type":"media"}', '{"type":"media","data":{"audio":"no","video":true}}',
    '{"type":"media","data":{"audio":true}}', '{"type":"media","data":[true,true]}']) {
    assert.equal(p.parseChannelMessage(bad), null, bad);
  }
});
