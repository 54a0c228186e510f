// The WebSocket to the server's /rtc endpoint: connects, parses frames,
// reconnects with backoff after a drop, and reports what happens as events.
//
// Events (all CustomEvent, payload in `detail`):
//   ready    the server's `ready` message: {id, version, iceServers}
//   message  any other server message
//   state    {connected, everOpened, failures}: after every change

import { backoffDelay } from './logic/backoff.js';
import { parseServerMessage } from './logic/protocol.js';

/**
 * A connection that has not received `ready` this long after it was started
 * is abandoned and retried: a socket to a vanished host can otherwise sit in
 * "connecting" for minutes.
 */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * While connected the page asks the server `ping` this often, and takes
 * the socket for dead when nothing at all has come back HEARTBEAT_WAIT_MS
 * later: a browser cannot see WebSocket pings, and a socket whose network
 * vanished can otherwise look open for many minutes. The next connection
 * then rejoins as this device. Most dead sockets are found at once: the
 * ping draws a reset from a server that already dropped them (a laptop
 * that slept, a server restarted). The wait is for a network that went
 * silent; it is long enough for TCP to ride out a blip of 20 s or so (a
 * meeting or a live stream would end with a reconnect), and the server
 * drops a connection silent for 45 s anyway.
 */
export const HEARTBEAT_MS = 15_000;
export const HEARTBEAT_WAIT_MS = 30_000;

export class Signaling extends EventTarget {
  #url;
  #ws = null;
  #retryTimer = null;
  #connectTimer = null;
  #heartbeatTimer = null;
  #deadline = null;
  #attempt = 0;
  #failures = 0;
  #everOpened = false;
  #ready = false;

  constructor(url) {
    super();
    this.#url = url;
  }

  /** True when the socket is open and `ready` has arrived. */
  get connected() {
    return this.#ready && this.#ws !== null && this.#ws.readyState === WebSocket.OPEN;
  }

  /** Connection attempts in a row that ended before `ready`. */
  get failures() {
    return this.#failures;
  }

  /** Whether any socket ever opened since the page loaded. */
  get everOpened() {
    return this.#everOpened;
  }

  start() {
    this.#connect();
  }

  /**
   * Tries at once (page visible again, network back), unless a socket is
   * live; a socket that seems live is checked at once instead of at the
   * next heartbeat (a phone back from the background often holds a dead one).
   */
  reconnectNow() {
    if (this.#ws) {
      if (this.connected) this.#ping();
      return;
    }
    this.#connect();
  }

  /**
   * Closes the socket for good (the page is going away): the server then
   * removes this device at once, instead of when a page kept in the
   * back-forward cache is finally discarded.
   */
  stop() {
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#connectTimer);
    this.#stopHeartbeat();
    const ws = this.#ws;
    this.#ws = null;
    this.#ready = false;
    if (ws) ws.close(1000, 'page closed');
  }

  /** Sends a message; returns false (and drops it) when not connected. */
  send(message) {
    if (!this.connected) return false;
    try {
      this.#ws.send(JSON.stringify(message));
      return true;
    } catch (err) {
      console.warn('lanrtc: send failed', err);
      return false;
    }
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  #emitState() {
    this.#emit('state', {
      connected: this.connected,
      everOpened: this.#everOpened,
      failures: this.#failures,
    });
  }

  #connect() {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    let ws;
    try {
      ws = new WebSocket(this.#url);
    } catch (err) {
      console.error('lanrtc: cannot open the signaling socket', err);
      this.#failures += 1;
      this.#emitState();
      this.#scheduleRetry();
      return;
    }
    this.#ws = ws;
    this.#connectTimer = setTimeout(() => {
      if (this.#ws === ws && !this.#ready) ws.close();
    }, CONNECT_TIMEOUT_MS);

    ws.onopen = () => {
      if (this.#ws === ws) this.#everOpened = true;
    };
    ws.onmessage = (e) => {
      if (this.#ws !== ws) return;
      // Anything arriving shows the socket is alive.
      clearTimeout(this.#deadline);
      this.#deadline = null;
      const message = parseServerMessage(e.data);
      if (!message) {
        console.warn('lanrtc: ignoring a frame that is not a protocol message', e.data);
        return;
      }
      if (message.type === 'pong') return;
      if (message.type === 'ready') {
        clearTimeout(this.#connectTimer);
        if (!this.#ready) this.#startHeartbeat();
        this.#ready = true;
        this.#attempt = 0;
        this.#failures = 0;
        this.#emit('ready', message);
        this.#emitState();
      } else if (this.#ready) {
        this.#emit('message', message);
      }
    };
    ws.onclose = (e) => {
      if (this.#ws !== ws) return;
      console.info(`lanrtc: signaling closed (code ${e.code})`);
      this.#lost();
    };
    // An error is always followed by close, which does the work.
    ws.onerror = () => {};
  }

  /** The current socket is over: say so and try again after the backoff. */
  #lost() {
    clearTimeout(this.#connectTimer);
    this.#stopHeartbeat();
    const wasReady = this.#ready;
    this.#ws = null;
    this.#ready = false;
    if (!wasReady) this.#failures += 1;
    this.#emitState();
    this.#scheduleRetry();
  }

  #startHeartbeat() {
    this.#stopHeartbeat();
    this.#heartbeatTimer = setInterval(() => this.#ping(), HEARTBEAT_MS);
  }

  #stopHeartbeat() {
    clearInterval(this.#heartbeatTimer);
    clearTimeout(this.#deadline);
    this.#heartbeatTimer = null;
    this.#deadline = null;
  }

  /** Sends `ping`; a socket that brings nothing back in time is given up. */
  #ping() {
    if (this.#deadline !== null || !this.send({ type: 'ping' })) return;
    const ws = this.#ws;
    this.#deadline = setTimeout(() => {
      if (this.#ws !== ws) return;
      console.info('lanrtc: signaling socket silent; connecting again');
      // Not waiting for the close handshake: on a dead network it would
      // take as long as the socket took to notice.
      ws.onclose = null;
      ws.onmessage = null;
      ws.close();
      this.#lost();
    }, HEARTBEAT_WAIT_MS);
  }

  #scheduleRetry() {
    clearTimeout(this.#retryTimer);
    const delay = backoffDelay(this.#attempt);
    this.#attempt += 1;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#connect();
    }, delay);
  }
}
