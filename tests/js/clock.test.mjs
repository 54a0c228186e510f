import test from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration } from '../../public/js/logic/clock.js';

test('durations read mm:ss', () => {
  const table = [
    [0, '00:00'],
    [999, '00:00'],
    [1000, '00:01'],
    [59_999, '00:59'],
    [60_000, '01:00'],
    [3_665_000, '61:05'],
    [-5, '00:00'],
    [NaN, '00:00'],
  ];
  for (const [ms, want] of table) assert.equal(formatDuration(ms), want, String(ms));
});
