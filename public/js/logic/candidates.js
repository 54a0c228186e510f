// Remote ICE candidates that arrive before the remote description is set
// cannot be added to the RTCPeerConnection yet; this queue holds them until
// it is. No DOM access: the queue only stores and hands back values.

/**
 * A peer could send candidates forever while we wait; nothing legitimate
 * comes close to this many for one call.
 */
export const MAX_QUEUED_CANDIDATES = 256;

export class CandidateQueue {
  constructor(limit = MAX_QUEUED_CANDIDATES) {
    this.limit = limit;
    this.pending = [];
    this.ready = false;
  }

  /**
   * Offers a candidate (a candidate init object, or null for "end of
   * candidates"). Returns true when the caller should add it now, false when
   * it was queued (or dropped because the queue is full).
   */
  add(candidate) {
    if (this.ready) return true;
    if (this.pending.length < this.limit) this.pending.push(candidate);
    return false;
  }

  /**
   * Marks the remote description as set: from now on `add` says "add now".
   * Returns the queued candidates, in arrival order, and empties the queue.
   */
  release() {
    this.ready = true;
    const out = this.pending;
    this.pending = [];
    return out;
  }

  get size() {
    return this.pending.length;
  }
}
