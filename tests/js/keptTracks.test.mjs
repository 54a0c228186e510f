// KeptTracks (public/js/keptTracks.js): the camera and microphone kept
// across a dropped connection are copies, given up at the deadline or when
// one of them ends, and never left running.
import test from 'node:test';
import assert from 'node:assert/strict';

class FakeTrack extends EventTarget {
  constructor(kind, readyState = 'live') {
    super();
    this.kind = kind;
    this.readyState = readyState;
    this.stopped = false;
    this.copies = [];
  }
  clone() {
    const copy = new FakeTrack(this.kind);
    this.copies.push(copy);
    return copy;
  }
  stop() {
    this.stopped = true;
    this.readyState = 'ended';
  }
}
globalThis.MediaStream = class {
  constructor(tracks) {
    this.tracks = tracks;
  }
  getTracks() {
    return this.tracks;
  }
  getVideoTracks() {
    return this.tracks.filter((t) => t.kind === 'video');
  }
};
const { KeptTracks } = await import('../../public/js/keptTracks.js');

function running() {
  const camera = new FakeTrack('video');
  const mic = new FakeTrack('audio');
  const gone = new FakeTrack('video', 'ended');
  return { camera, mic, stream: new MediaStream([camera, mic, gone]) };
}

test('copies of the live tracks are handed over once, and are stopped on drop', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { camera, mic, stream } = running();
  let expired = 0;
  const kept = new KeptTracks(stream, 60_000, () => (expired += 1));
  assert.equal(kept.stream.getTracks().length, 2, 'an ended track is not kept');
  assert.equal(camera.stopped || mic.stopped, false, 'the originals are the caller’s');
  const taken = kept.take();
  assert.equal(taken, kept.stream);
  assert.equal(kept.take(), null, 'only once');
  t.mock.timers.tick(60_000);
  assert.equal(expired, 0, 'taken: the deadline no longer applies');
  kept.drop();
  assert.ok(taken.getTracks().every((c) => c.stopped));
});

test('at the deadline the copies stop by themselves and the owner is told', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { stream } = running();
  let expired = 0;
  const kept = new KeptTracks(stream, 60_000, () => (expired += 1));
  t.mock.timers.tick(59_999);
  assert.equal(expired, 0);
  t.mock.timers.tick(1);
  assert.equal(expired, 1);
  assert.ok(kept.stream.getTracks().every((c) => c.stopped), 'the camera light goes off');
  assert.equal(kept.take(), null);
});

test('a copy that ends (a screen share stopped, a camera unplugged) gives the rest up', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { camera, stream } = running();
  let expired = 0;
  const kept = new KeptTracks(stream, 60_000, () => (expired += 1));
  camera.copies[0].dispatchEvent(new Event('ended'));
  assert.equal(expired, 1);
  assert.ok(kept.stream.getTracks().every((c) => c.stopped));
  assert.equal(kept.take(), null);
  t.mock.timers.tick(60_000);
  assert.equal(expired, 1, 'told once');
});
