// Going live, the parts without WebRTC or DOM: the stream's messages, who
// may still watch, and what a viewer is told when a stream ends.

/** `data.stream` on a stream's messages: which side sent it. */
export const BROADCASTER = 'broadcaster';
export const VIEWER = 'viewer';

/**
 * Viewers one broadcaster serves at once. Each viewer gets its own encoder
 * (one peer connection per viewer, no media server), so the device's CPU and
 * uplink set the limit; README "Going live" has the measurements behind
 * these numbers.
 */
export const MAX_VIEWERS_LAPTOP = 6;
export const MAX_VIEWERS_PHONE = 3;

/** The viewer cap for this device: phones and tablets get the smaller one. */
export function maxViewers(nav) {
  const mobile =
    (nav && nav.userAgentData && nav.userAgentData.mobile === true) ||
    /Android|iPhone|iPad|iPod|Mobile/i.test((nav && nav.userAgent) || '');
  return mobile ? MAX_VIEWERS_PHONE : MAX_VIEWERS_LAPTOP;
}

/** A viewer's request: a receive-only offer. */
export function watch(target, sdp) {
  return { type: 'watch', data: { target, sdp } };
}

/** Adds `data.stream` (the sender's side) to a relayed message. */
export function onStream(message, side) {
  return { ...message, data: { ...message.data, stream: side } };
}

/**
 * Who watches a broadcast, bounded: `admit` says whether a new viewer fits.
 * Ids only; the peer connections live in live.js.
 */
export class ViewerSlots {
  constructor(max) {
    this.max = max;
    this.ids = new Set();
  }

  /** 'ok' (taken), 'again' (already watching: replace), or 'full'. */
  admit(id) {
    if (this.ids.has(id)) return 'again';
    if (this.ids.size >= this.max) return 'full';
    this.ids.add(id);
    return 'ok';
  }

  release(id) {
    return this.ids.delete(id);
  }

  get count() {
    return this.ids.size;
  }
}

/** What a viewer is told when the stream of `name` ends for `reason`. */
export function endedText(name, reason) {
  switch (reason) {
    case 'full':
      return `The broadcaster is full: ${name} cannot take another viewer right now. Try again when someone stops watching.`;
    case 'not-live':
    case 'stopped':
      return `${name} ended the live stream.`;
    case 'left':
      return `${name} left, so the live stream ended.`;
    case 'failed':
      return `The live stream from ${name} was lost (the connection failed).`;
    case 'timeout':
      return `The live stream from ${name} did not start: no picture came within 15 seconds. Try watching again.`;
    case 'offline':
      return `The live stream from ${name} stopped: the connection to the server was lost.`;
    default:
      return `The live stream from ${name} ended.`;
  }
}

/** The broadcaster's line when the appliance forwards its stream. */
export function applianceAudienceText(count) {
  if (count === 0) return 'Live through the appliance. No one is watching yet.';
  const who = count === 1 ? '1 viewer' : `${count} viewers`;
  return `Live through the appliance to ${who}.`;
}

/** The broadcaster's line about its audience. */
export function audienceText(count, max) {
  if (count === 0) return `Live. No one is watching yet (up to ${max} can).`;
  const who = count === 1 ? '1 viewer' : `${count} viewers`;
  return `Live to ${who} (up to ${max}).`;
}
