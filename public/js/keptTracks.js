// Camera and microphone kept across a dropped server connection, so a
// meeting or a live stream can be taken up again without asking for them
// again: copies of the live tracks, given up after a deadline (the camera
// light must not stay on for a connection that never returns) or as soon
// as one of them ends (the person stopped a screen share, a camera was
// unplugged: that is a deliberate or final stop).

export class KeptTracks {
  /**
   * @param {MediaStream} stream  what is running now (it is copied)
   * @param {number} ms  how long the copies are kept
   * @param {() => void} onExpired  called when they were given up by themselves
   */
  constructor(stream, ms, onExpired) {
    const live = stream.getTracks().filter((t) => t.readyState === 'live');
    this.stream = new MediaStream(live.map((t) => t.clone()));
    this.timer = setTimeout(() => this.expire(), ms);
    this.onExpired = onExpired;
    for (const t of this.stream.getTracks()) t.addEventListener('ended', () => this.expire());
  }

  /** The kept tracks for the caller to use (it copies them); null when given up. */
  take() {
    if (!this.timer) return null;
    clearTimeout(this.timer);
    this.timer = null;
    return this.stream.getTracks().length > 0 ? this.stream : null;
  }

  /** Stops the copies. */
  drop() {
    clearTimeout(this.timer);
    this.timer = null;
    for (const t of this.stream.getTracks()) t.stop();
  }

  expire() {
    if (!this.timer) return;
    this.drop();
    this.onExpired();
  }
}
