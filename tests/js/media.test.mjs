import test from 'node:test';
import assert from 'node:assert/strict';
import * as m from '../../public/js/logic/media.js';

test('each mode asks for the right devices', () => {
  assert.deepEqual(m.constraintsFor('full'), { audio: true, video: true });
  assert.deepEqual(m.constraintsFor('audio'), { audio: true, video: false });
  assert.equal(m.constraintsFor('recvonly'), null);
});

test('getUserMedia errors are sorted by what a person can do', () => {
  const table = [
    ['NotAllowedError', 'denied'],
    ['SecurityError', 'denied'],
    ['NotFoundError', 'not-found'],
    ['OverconstrainedError', 'not-found'],
    ['NotReadableError', 'in-use'],
    ['TypeError', 'unsupported'],
    ['Whatever', 'other'],
  ];
  for (const [name, kind] of table) assert.equal(m.mediaProblemKind({ name }), kind, name);
  assert.equal(m.mediaProblemKind(null), 'other');
});

test('fallbacks only offer modes that need less', () => {
  assert.deepEqual(m.retryModes('denied', 'full'), ['audio', 'recvonly']);
  assert.deepEqual(m.retryModes('denied', 'audio'), ['recvonly']);
  assert.deepEqual(m.retryModes('unsupported', 'full'), ['recvonly']);
  assert.deepEqual(m.retryModes('other', 'recvonly'), []);
  assert.equal(m.MODE_LABELS.audio, 'Call without camera');
  assert.equal(m.MODE_LABELS.recvonly, 'Call receive-only');
});

test('every problem has a sentence that says what to do', () => {
  for (const kind of ['denied', 'not-found', 'in-use', 'unsupported', 'other']) {
    for (const mode of ['full', 'audio']) {
      const text = m.describeMediaProblem(kind, mode);
      assert.match(text, /\.$/);
      assert.ok(text.length > 30, text);
    }
  }
  assert.match(m.describeMediaProblem('denied', 'full'), /denied/);
  assert.match(m.describeMediaProblem('not-found', 'full'), /No camera/);
});

test('a problem while answering speaks of answering, as its buttons do', () => {
  for (const kind of ['denied', 'not-found', 'in-use', 'unsupported', 'other']) {
    const text = m.describeMediaProblem(kind, 'full', 'answer');
    assert.doesNotMatch(text, /\bcall\b/, text);
    assert.match(text, /answer/, text);
  }
  assert.equal(m.ANSWER_LABELS.audio, 'Answer without camera');
  assert.equal(m.ANSWER_LABELS.recvonly, 'Answer receive-only');
});

test('"Go live" failures say why and how to fix it', () => {
  assert.match(m.describeLiveProblem('denied', 'camera'), /permission .* denied.*Allow the camera/);
  assert.match(m.describeLiveProblem('not-found', 'camera'), /no camera was found/);
  assert.match(m.describeLiveProblem('denied', 'screen'), /cancelled or refused/);
  const texts = ['denied', 'not-found', 'in-use', 'other'].map((k) => m.describeLiveProblem(k, 'camera'));
  assert.equal(new Set(texts).size, texts.length);
});

test('switching cameras cycles through the list', () => {
  assert.equal(m.nextCamera(['a'], 'a'), null);
  assert.equal(m.nextCamera([], undefined), null);
  assert.equal(m.nextCamera(['a', 'b', 'c'], 'a'), 'b');
  assert.equal(m.nextCamera(['a', 'b', 'c'], 'c'), 'a');
  assert.equal(m.nextCamera(['a', 'b'], 'unknown'), 'a');
});

test('a browser without WebRTC is told so, and what it can still do', () => {
  const full = { RTCPeerConnection: function () {}, navigator: { mediaDevices: { getUserMedia() {} } } };
  assert.deepEqual(m.webrtcSupport(full), { calls: true, watch: true });
  assert.equal(m.unsupportedText(m.webrtcSupport(full)), null);
  const noCamera = { RTCPeerConnection: function () {}, navigator: {} };
  assert.deepEqual(m.webrtcSupport(noCamera), { calls: false, watch: true });
  assert.match(m.unsupportedText(m.webrtcSupport(noCamera)), /can still watch/);
  for (const bare of [{ navigator: { mediaDevices: { getUserMedia() {} } } }, {}, undefined]) {
    assert.deepEqual(m.webrtcSupport(bare), { calls: false, watch: false });
    assert.match(m.unsupportedText(m.webrtcSupport(bare)), /cannot make video calls \(it has no WebRTC\)/);
  }
});
