import test from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, BACKOFF } from '../../public/js/logic/backoff.js';

const middle = () => 0.5; // no jitter

test('delays start at half a second and double', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4].map((n) => backoffDelay(n, middle)),
    [500, 1000, 2000, 4000, 8000],
  );
});

test('delays stop growing at 15 s', () => {
  assert.equal(backoffDelay(5, middle), 15_000);
  assert.equal(backoffDelay(50, middle), 15_000);
  assert.equal(backoffDelay(1e9, middle), 15_000);
  assert.equal(backoffDelay(1e9, () => 0.999), 15_000);
});

test('jitter is at most 30 % either way', () => {
  assert.equal(backoffDelay(2, () => 0), 1400);
  assert.equal(backoffDelay(2, () => 0.9999999), 2600);
  for (let i = 0; i < 1000; i++) {
    const d = backoffDelay(3);
    assert.ok(d >= 4000 * 0.7 && d <= 4000 * 1.3, String(d));
  }
  for (let i = 0; i < 1000; i++) {
    const d = backoffDelay(20);
    assert.ok(d >= BACKOFF.maxMs * 0.7 && d <= BACKOFF.maxMs, String(d));
  }
});

test('nonsense attempts count as the first', () => {
  for (const n of [-3, NaN, undefined, Infinity]) assert.equal(backoffDelay(n, middle), 500);
});
