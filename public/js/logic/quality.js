// How good a call's link is, from the numbers WebRTC's getStats() reports:
// the share of the other side's packets that never arrived, and the round
// trip time. Pure, so it is unit-tested without a browser; the call feature
// samples the stats and shows "Poor connection" while this says so.

/** The call feature samples the stats this often. */
export const QUALITY_SAMPLE_MS = 2000;
/** Losing this share of incoming packets (or more) over one sample is poor. */
export const POOR_LOSS = 0.08;
/** A round trip this long (seconds) or longer is poor: speech talks over itself. */
export const POOR_RTT = 0.5;
/** Good samples in a row before "Poor connection" goes away (no flicker). */
export const GOOD_SAMPLES_TO_CLEAR = 2;
/** Fewer packets than this in a sample say nothing about loss. */
const MIN_PACKETS = 20;

/**
 * Reads one sample from an RTCStatsReport (anything with values()).
 * @returns {{received: number, lost: number, rtt: number|null}}
 */
export function readSample(report) {
  let received = 0;
  let lost = 0;
  let rtt = null;
  let rtcpRtt = null;
  let pair = null;
  const entries = [...report.values()];
  for (const s of entries) {
    if (s.type === 'transport' && typeof s.selectedCandidatePairId === 'string') {
      pair = s.selectedCandidatePairId;
    }
  }
  for (const s of entries) {
    if (s.type === 'inbound-rtp') {
      received += Number.isFinite(s.packetsReceived) ? s.packetsReceived : 0;
      // Can be negative for a moment (duplicates); never count that.
      lost += Number.isFinite(s.packetsLost) && s.packetsLost > 0 ? s.packetsLost : 0;
    } else if (s.type === 'candidate-pair' && Number.isFinite(s.currentRoundTripTime)) {
      // The selected pair: Chromium names it on the transport, Firefox marks
      // it `selected`.
      if (s.id === pair || (pair === null && s.selected === true)) rtt = s.currentRoundTripTime;
    } else if (s.type === 'remote-inbound-rtp' && Number.isFinite(s.roundTripTime)) {
      // From RTCP: what an engine without the pair's round trip still has.
      rtcpRtt = Math.max(rtcpRtt ?? 0, s.roundTripTime);
    }
  }
  return { received, lost, rtt: rtt ?? rtcpRtt };
}

export const initialQuality = Object.freeze({ sample: null, poor: false, good: 0 });

/**
 * The next quality state from the previous one and a new sample.
 * @returns {{sample, poor: boolean, good: number}}
 */
export function nextQuality(state, sample) {
  const previous = state.sample;
  let bad = sample.rtt !== null && sample.rtt >= POOR_RTT;
  let known = sample.rtt !== null;
  if (previous) {
    const received = sample.received - previous.received;
    const lost = sample.lost - previous.lost;
    if (received >= 0 && lost >= 0 && received + lost >= MIN_PACKETS) {
      known = true;
      if (lost / (received + lost) >= POOR_LOSS) bad = true;
    }
  }
  if (bad) return { sample, poor: true, good: 0 };
  if (!known || !state.poor) return { sample, poor: state.poor, good: 0 };
  const good = state.good + 1;
  return good >= GOOD_SAMPLES_TO_CLEAR ? { sample, poor: false, good: 0 } : { sample, poor: true, good };
}
