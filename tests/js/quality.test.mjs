import test from 'node:test';
import assert from 'node:assert/strict';

import {
  GOOD_SAMPLES_TO_CLEAR,
  initialQuality,
  nextQuality,
  readSample,
} from '../../public/js/logic/quality.js';

const report = (entries) => new Map(entries.map((e) => [e.id, e]));

test('a sample sums the inbound streams and takes the selected pair round trip', () => {
  const sample = readSample(
    report([
      { id: 'a', type: 'inbound-rtp', kind: 'audio', packetsReceived: 100, packetsLost: 2 },
      { id: 'v', type: 'inbound-rtp', kind: 'video', packetsReceived: 900, packetsLost: -1 },
      { id: 't', type: 'transport', selectedCandidatePairId: 'p2' },
      { id: 'p1', type: 'candidate-pair', currentRoundTripTime: 0.9 },
      { id: 'p2', type: 'candidate-pair', currentRoundTripTime: 0.01 },
      { id: 'o', type: 'outbound-rtp', packetsSent: 5 },
    ]),
  );
  assert.deepEqual(sample, { received: 1000, lost: 2, rtt: 0.01 });
  // Firefox: no transport entry, the pair says it is selected.
  const firefox = readSample(
    report([
      { id: 'p1', type: 'candidate-pair', currentRoundTripTime: 0.3, selected: false },
      { id: 'p2', type: 'candidate-pair', currentRoundTripTime: 0.02, selected: true },
    ]),
  );
  assert.deepEqual(firefox, { received: 0, lost: 0, rtt: 0.02 });
  // No round trip on any pair: the RTCP one (the worst stream's) is used.
  const rtcp = readSample(
    report([
      { id: 'p1', type: 'candidate-pair', nominated: true, currentRoundTripTime: 0.01 },
      { id: 'ra', type: 'remote-inbound-rtp', kind: 'audio', roundTripTime: 0.2 },
      { id: 'rv', type: 'remote-inbound-rtp', kind: 'video', roundTripTime: 0.6 },
    ]),
  );
  assert.deepEqual(rtcp, { received: 0, lost: 0, rtt: 0.6 });
});

const s = (received, lost, rtt = 0.01) => ({ received, lost, rtt });

test('loss over a sample makes the link poor; two good samples clear it', () => {
  let q = nextQuality(initialQuality, s(0, 0));
  assert.equal(q.poor, false);
  q = nextQuality(q, s(500, 5)); // 1% lost
  assert.equal(q.poor, false);
  q = nextQuality(q, s(900, 105)); // 100 of 500 lost
  assert.equal(q.poor, true);
  for (let i = 1; i < GOOD_SAMPLES_TO_CLEAR; i++) {
    q = nextQuality(q, s(900 + 400 * i, 105));
    assert.equal(q.poor, true, 'one good sample does not clear it');
  }
  q = nextQuality(q, s(900 + 400 * GOOD_SAMPLES_TO_CLEAR, 105));
  assert.equal(q.poor, false);
});

test('a long round trip is poor even without loss', () => {
  const q = nextQuality(nextQuality(initialQuality, s(0, 0)), s(500, 0, 0.8));
  assert.equal(q.poor, true);
});

test('too few packets, or counters that went backwards, say nothing', () => {
  const poor = { sample: s(100, 50), poor: true, good: 0 };
  // Five packets, none lost, no round trip known: still poor, no good sample counted.
  const few = nextQuality(poor, { received: 105, lost: 50, rtt: null });
  assert.deepEqual([few.poor, few.good], [true, 0]);
  // A renegotiation can reset counters: not read as loss.
  const reset = nextQuality({ sample: s(1000, 0), poor: false, good: 0 }, { received: 10, lost: 0, rtt: null });
  assert.equal(reset.poor, false);
});
