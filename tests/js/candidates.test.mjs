import test from 'node:test';
import assert from 'node:assert/strict';
import { CandidateQueue } from '../../public/js/logic/candidates.js';

const c = (n) => ({ candidate: `candidate:${n}`, sdpMid: '0', sdpMLineIndex: 0 });

test('candidates wait until the remote description is set, in order', () => {
  const q = new CandidateQueue();
  assert.equal(q.add(c(1)), false);
  assert.equal(q.add(c(2)), false);
  assert.equal(q.add(null), false);
  assert.equal(q.size, 3);
  assert.deepEqual(q.release(), [c(1), c(2), null]);
  assert.equal(q.size, 0);
});

test('after release, candidates are to be added at once', () => {
  const q = new CandidateQueue();
  assert.deepEqual(q.release(), []);
  assert.equal(q.add(c(1)), true);
  assert.equal(q.size, 0);
  assert.deepEqual(q.release(), []);
});

test('the queue is bounded', () => {
  const q = new CandidateQueue(3);
  for (let i = 0; i < 10; i++) q.add(c(i));
  assert.deepEqual(q.release(), [c(0), c(1), c(2)]);
});
