// One file transfer's two ends, over whatever channel carries it (a data
// channel of its own, or a pipe through the appliance; see fileLink.js).
// No DOM here: the channel, the store the receiver writes to and the clock
// are given, so tests/js/transferSession.test.mjs runs both ends in Node,
// drops and corrupts the channel, and checks what each side sees.
//
// A channel: {send(string | ArrayBuffer | view), open, bufferedAmount, drained()
// → Promise (resolves when bufferedAmount is low again), close(),
// onmessage = (string | ArrayBuffer) => …, onclose = () => …}.

import {
  ACK_EVERY,
  WINDOW,
  canQueue,
  createReceiver,
  hex,
  offerMessage,
  parseControl,
  sendPlan,
} from './logic/transfer.js';

/**
 * The sender reads the file in slices of this many bytes (never whole), and
 * each slice is a block: hashed on its own, verified by the receiver when it
 * arrives, acknowledged once written. A file's `end` carries the SHA-256 of
 * its blocks' SHA-256s. WebCrypto hashes a buffer natively (1.4 GB/s in
 * Chromium here) but not incrementally; hashing the whole file as one
 * stream in JavaScript or WebAssembly (61 and 212 MB/s) cost the transfer a
 * fifth to a third of its speed (README, "Sending files and text").
 */
export const READ_CHUNK = ACK_EVERY;
/** The longest offer (JSON) sent: within a data channel message in every engine. */
export const MAX_OFFER = 200 * 1024;
/** Spare block buffers a receiver keeps. */
const POOL = 6;

/**
 * Called when a file's outcome is known: the transfer ends when every
 * file's is (done, or failed naming how many did not arrive intact).
 */
function settle(end) {
  if (end.outcome.every((o) => o !== null)) {
    const failed = end.outcome.filter((o) => o !== 'verified').length;
    if (failed > 0) end.error = `${failed} of ${end.files.length} files did not arrive intact`;
    end.finish(failed > 0 ? 'failed' : 'done');
  } else {
    end.onChange();
  }
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

/** The SHA-256 over a file's block digests, hex: what `end` carries. */
async function rootOf(digests) {
  return hex(await sha256(concat(digests, digests.length * 32)));
}

/** States a transfer is in, as the UI shows them. */
export const ACTIVE = new Set(['connecting', 'asking', 'sending', 'receiving', 'interrupted']);

/**
 * What both ends share: the state the UI shows, the channel of the moment
 * (a generation number tells a dropped channel's late events apart), and
 * how an end fails, finishes or is cut off.
 */
class End {
  constructor(onChange) {
    this.onChange = onChange;
    this.state = 'connecting';
    this.error = '';
    this.generation = 0;
    this.channel = null;
  }

  /** Takes a new channel (the first, or one after a drop): false when over. */
  use(channel) {
    if (!ACTIVE.has(this.state)) {
      channel.close();
      return false;
    }
    this.detach();
    const generation = ++this.generation;
    this.channel = channel;
    channel.onmessage = (data) => {
      if (generation === this.generation) this.onMessage(data, generation);
    };
    channel.onclose = () => {
      if (generation === this.generation) this.onDropped();
    };
    return true;
  }

  /** Sends a control message (an object) or bytes: false when the channel is gone. */
  send(message) {
    if (!this.channel) return false;
    try {
      this.channel.send(typeof message === 'object' && !ArrayBuffer.isView(message) ? JSON.stringify(message) : message);
      return true;
    } catch {
      // Closed under us; onclose follows.
      return false;
    }
  }

  onDropped() {
    this.detach();
    if (ACTIVE.has(this.state)) this.set('interrupted');
  }

  /** Lets go of the channel; forget() drops what only that channel had. */
  detach() {
    this.generation++;
    this.forget();
    const channel = this.channel;
    this.channel = null;
    if (channel) {
      channel.onmessage = null;
      channel.onclose = null;
      channel.close();
    }
  }

  forget() {}

  fail(why) {
    this.error = why;
    this.send({ t: 'cancel', reason: why });
    this.finish('failed');
  }

  /** The other side ended it: a person (cancelled), or a failure it names. */
  onCancel(m, other) {
    if (!m.reason) return this.finish('cancelled');
    this.error = `the ${other} stopped: ${m.reason}`;
    return this.finish('failed');
  }

  finish(state) {
    this.set(state);
    this.detach();
  }

  set(state) {
    this.state = state;
    this.onChange();
  }
}

/**
 * The sending end: `files` are File or Blob objects with a name (or none
 * with a `text`); `pieceSize` is chosen per channel.
 */
export class Outgoing extends End {
  constructor({ files, text = null, onChange = () => {} }) {
    super(onChange);
    this.files = files;
    this.text = text;
    this.acked = files.map(() => 0);
    this.sent = files.map(() => 0);
    /** Per file: null, 'verified' or why it failed. */
    this.outcome = files.map(() => null);
    /** Where the last resume went on from (bytes of all files), for the UI and tests. */
    this.resumedFrom = 0;
    this.offered = false;
    this.wakers = [];
  }

  /** Starts (or, after a drop, resumes) the transfer on a new channel. */
  attach(channel, pieceSize) {
    if (!this.use(channel)) return;
    this.pieceSize = pieceSize;
    const offer = JSON.stringify(offerMessage(this.files, this.text, this.offered));
    if (offer.length > MAX_OFFER || !this.send(offer)) {
      this.fail(`the list of files is too long to offer (${this.files.length} files); send fewer at once`);
      return;
    }
    this.offered = true;
    this.set('asking');
  }

  /** Ends the transfer for both sides. */
  cancel() {
    if (!ACTIVE.has(this.state)) return;
    this.send({ t: 'cancel' });
    this.finish('cancelled');
  }

  /**
   * The receiver said (over signaling, with no channel between us) that the
   * transfer is over on its side: `state` and, for done or failed, each
   * file's outcome.
   */
  ended(state, outcome) {
    if (!ACTIVE.has(this.state)) return;
    if ((state === 'done' || state === 'failed') && Array.isArray(outcome) && outcome.length === this.files.length) {
      this.outcome = outcome.map((o) => (o === 'verified' ? 'verified' : String(o || 'failed').slice(0, 200)));
      settle(this);
      return;
    }
    this.finish(state === 'declined' ? 'declined' : 'cancelled');
  }

  /** Bytes the receiver has (acknowledged or on their way), and the total. */
  get bytes() {
    const buffered = this.channel ? this.channel.bufferedAmount || 0 : 0;
    const done = this.files.reduce(
      (n, f, i) => n + (this.outcome[i] === 'verified' ? f.size : Math.max(this.acked[i], this.sent[i])),
      0,
    );
    const total = this.files.reduce((n, f) => n + f.size, 0);
    return { done: Math.max(0, Math.min(total, done - buffered)), total };
  }

  onMessage(data, generation) {
    if (typeof data !== 'string') return this.fail('the receiver sent bytes');
    const m = parseControl(data);
    switch (m.t) {
      case 'accept':
        if (this.state !== 'asking') return undefined;
        if (this.files.length === 0) return this.finish('done');
        if (m.from.length !== this.files.length) return this.fail('the receiver accepted other files');
        this.set('sending');
        this.run(m.from, generation).catch((err) => {
          if (generation === this.generation) this.fail(`could not read a file: ${err.message}`);
        });
        return undefined;
      case 'decline':
        return this.finish('declined');
      case 'ack':
        if (m.index < this.files.length) this.acked[m.index] = Math.max(this.acked[m.index], m.offset);
        this.wake();
        this.onChange();
        return undefined;
      case 'verified':
      case 'failed':
        if (m.index >= this.files.length || this.outcome[m.index] !== null) return undefined;
        this.outcome[m.index] = m.t === 'verified' ? 'verified' : m.reason || 'failed';
        // A file that failed mid-way is not sent further.
        this.wake();
        return settle(this);
      case 'cancel':
        return this.onCancel(m, 'receiver');
      case 'invalid':
        return this.fail(`the receiver sent a bad message (${m.why})`);
      default:
        return this.fail(`the receiver sent ${m.t}`);
    }
  }

  /** Sends every file not yet verified, each from where the receiver has it. */
  async run(from, generation) {
    const plan = sendPlan(this.files, from);
    this.resumedFrom = plan.reduce((n, p) => n + (this.outcome[p.index] === 'verified' ? 0 : p.offset), 0);
    for (const { index, offset, size } of plan) {
      if (this.outcome[index] === 'verified') continue;
      if (!(await this.sendFile(index, offset, size, generation))) return;
    }
  }

  /** One file from `offset` (a block's end): false when the channel went away meanwhile. */
  async sendFile(index, offset, size, generation) {
    const file = this.files[index];
    // A resume hashes the blocks the receiver already has from the file itself.
    const digests = [];
    for (let at = 0; at < offset; at += READ_CHUNK) {
      digests.push(await sha256(await read(file, at, Math.min(offset, at + READ_CHUNK))));
      if (generation !== this.generation) return false;
    }
    this.acked[index] = offset;
    this.sent[index] = offset;
    if (!this.send({ t: 'file', index, offset })) return false;
    let at = offset;
    let next = at < size ? read(file, at, Math.min(size, at + READ_CHUNK)) : null;
    while (next) {
      const chunk = await next;
      const end = at + chunk.length;
      next = end < size ? read(file, end, Math.min(size, end + READ_CHUNK)) : null;
      // WebCrypto copies the bytes at once and hashes them meanwhile.
      const digest = sha256(chunk);
      for (let p = 0; p < chunk.length; p += this.pieceSize) {
        while (this.outcome[index] === null && !canQueue(this.channel.bufferedAmount, at - this.acked[index])) {
          await (canQueue(this.channel.bufferedAmount) ? this.nextAck() : this.channel.drained());
          if (generation !== this.generation) return false;
          if (this.outcome[index] !== null) return true;
          // Closed without (yet) saying so: waiting would spin.
          if (!this.channel.open) {
            this.onDropped();
            return false;
          }
        }
        if (generation !== this.generation) return false;
        if (this.outcome[index] !== null) return true;
        const piece = chunk.subarray(p, Math.min(chunk.length, p + this.pieceSize));
        if (!this.send(piece)) return false;
        at += piece.length;
        this.sent[index] = at;
      }
      const d = await digest;
      digests.push(d);
      if (generation !== this.generation) return false;
      if (!this.send({ t: 'block', index, offset: end, sha256: hex(d) })) return false;
    }
    const root = await rootOf(digests);
    if (generation !== this.generation) return false;
    return this.send({ t: 'end', index, sha256: root });
  }

  nextAck() {
    return new Promise((resolve) => this.wakers.push(resolve));
  }

  wake() {
    const wakers = this.wakers;
    this.wakers = [];
    for (const w of wakers) w();
  }

  forget() {
    this.wake();
  }
}

function concat(parts, size) {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function read(file, from, to) {
  return file
    .slice(from, to)
    .arrayBuffer()
    .then((b) => new Uint8Array(b));
}

/**
 * The receiving end. `store` is where the bytes go (fileStore.js): it is
 * opened on Accept, so nothing is written, or even asked for, before.
 */
export class Incoming extends End {
  constructor({ store, onChange = () => {} }) {
    super(onChange);
    this.store = store;
    this.files = [];
    this.text = null;
    this.receiver = null;
    /** Per file: the SHA-256 of each block verified and written, in order. */
    this.digests = [];
    /** Per file: why a block did not match (the file then fails at its end). */
    this.bad = [];
    /** Per file: the received File once verified, or why it failed. */
    this.received = [];
    this.outcome = [];
    this.accepted = false;
    this.queue = Promise.resolve();
    this.current = null;
    this.gathered = null;
    this.block = null;
    /** Spare 4 MiB block buffers. */
    this.pool = [];
  }

  attach(channel) {
    this.use(channel);
  }

  /** The person said yes: opens the store and asks for the bytes. */
  async accept() {
    if (this.state !== 'asking' || this.accepted) return;
    this.accepted = true;
    try {
      await this.store.prepare(this.files);
    } catch (err) {
      this.accepted = false;
      this.fail(err.message);
      return;
    }
    this.set('receiving');
    this.send(this.receiver.accept());
  }

  decline() {
    if (this.state !== 'asking') return;
    this.send({ t: 'decline' });
    this.finish('declined');
  }

  cancel() {
    if (!ACTIVE.has(this.state)) return;
    this.send({ t: 'cancel' });
    this.finish('cancelled');
  }

  get bytes() {
    if (!this.receiver) return { done: 0, total: 0 };
    return this.receiver.bytes;
  }

  onMessage(data, generation) {
    if (typeof data !== 'string') return this.onPiece(new Uint8Array(data), generation);
    const m = parseControl(data);
    switch (m.t) {
      case 'offer':
        return this.onOffer(m, generation);
      case 'file': {
        if (!this.accepted) return this.fail('the sender sent a file before Accept');
        if (m.index < this.files.length && this.outcome[m.index] !== null) {
          // Settled before a drop (its answer may have been lost): say it again.
          this.current = null;
          this.enqueue(async () => this.send(this.outcome[m.index] === 'verified' ? { t: 'verified', index: m.index } : { t: 'failed', index: m.index, reason: this.outcome[m.index] }), generation);
          return undefined;
        }
        const r = this.receiver.onFile(m.index, m.offset);
        if (r.error) return this.fail(r.error);
        this.current = m.index;
        this.gathered = null;
        this.block = null;
        // What was verified before a drop stays; a file from 0 starts clean.
        this.digests[m.index] = this.digests[m.index].slice(0, Math.ceil(m.offset / ACK_EVERY));
        if (m.offset === 0) {
          this.bad[m.index] = null;
          this.enqueue(() => this.store.truncate(m.index, 0), generation);
        }
        return undefined;
      }
      case 'block':
        return this.onBlock(m, generation);
      case 'end': {
        if (!this.accepted) return this.fail('the sender ended a file before Accept');
        const current = this.current;
        this.current = null;
        const index = m.index;
        const pending = this.block !== null || this.gathered !== null;
        this.enqueue(async () => {
          // Settled already (a block did not match, or a repeat): nothing to add.
          if (index >= this.files.length || this.outcome[index] !== null) return;
          const size = this.files[index].size;
          const written = this.receiver.have()[index];
          const whole = current === index && !pending && written === size && this.digests[index].length === Math.ceil(size / ACK_EVERY);
          const actual = whole ? await rootOf(this.digests[index]) : '';
          let result = this.receiver.onEnd(index, m.sha256, actual);
          if (!whole && result.t === 'verified') result = { t: 'failed', index, reason: `truncated: ${written} of ${size} bytes written` };
          if (result.t === 'verified') {
            this.received[index] = await this.store.finish(index);
            this.outcome[index] = 'verified';
          } else {
            this.outcome[index] = result.reason;
            await this.store.abandon(index);
          }
          this.send(result);
          settle(this);
        }, generation);
        return undefined;
      }
      case 'cancel':
        return this.onCancel(m, 'sender');
      case 'invalid':
        return this.fail(`the sender sent a bad message (${m.why})`);
      default:
        return this.fail(`the sender sent ${m.t}`);
    }
  }

  onOffer(m, generation) {
    if (this.receiver === null) {
      this.files = m.files;
      this.text = m.text === undefined ? null : m.text;
      this.receiver = createReceiver(m.files);
      this.digests = m.files.map(() => []);
      this.bad = m.files.map(() => null);
      this.received = m.files.map(() => null);
      this.outcome = m.files.map(() => null);
      if (m.files.length === 0) {
        // A text: shown at once (it is already here), nothing to accept.
        this.send({ t: 'accept', from: [] });
        this.finish('done');
        return;
      }
      this.set('asking');
      return;
    }
    if (m.files.length !== this.files.length || m.files.some((f, i) => f.size !== this.files[i].size)) {
      this.fail('the sender offered other files on resuming');
      return;
    }
    if (!this.accepted) {
      this.set('asking');
      return;
    }
    // Resuming: once every write in flight has landed, say where to go on.
    this.enqueue(() => {
      this.set('receiving');
      this.send(this.receiver.accept());
    }, generation);
  }

  /**
   * Pieces are gathered up to the end of their block (ACK_EVERY bytes, or
   * the file's end), then checked against the block's SHA-256 and written
   * in one go: one write per 4 MiB instead of one per piece (each is a
   * round trip to the browser's storage).
   */
  onPiece(bytes, generation) {
    if (!this.accepted || this.current === null) return this.fail('the sender sent bytes before a file');
    if (this.block) return this.fail('the sender sent bytes past the end of a block');
    const r = this.receiver.onPiece(bytes.length);
    if (r.error) return this.fail(r.error);
    // A piece never crosses a block's end, and a sender waits for
    // acknowledgements: otherwise what is held here would grow unbounded.
    if ((r.at % ACK_EVERY) + bytes.length > ACK_EVERY) return this.fail('the sender sent a piece across a block');
    if (r.at + bytes.length - this.receiver.have()[r.index] > WINDOW + ACK_EVERY) {
      return this.fail('the sender did not wait for acknowledgements');
    }
    if (!this.gathered) {
      const length = Math.min(ACK_EVERY - (r.at % ACK_EVERY), this.files[r.index].size - r.at);
      this.gathered = { index: r.index, at: r.at, buffer: this.blockBuffer(length), size: 0 };
    }
    // Copied into the block at once, so the message's buffer dies young
    // instead of living until the block's end.
    this.gathered.buffer.set(bytes, this.gathered.size);
    this.gathered.size += bytes.length;
    const end = r.at + bytes.length;
    if (end % ACK_EVERY === 0 || end === this.files[r.index].size) {
      // The block is complete; its `block` message comes next.
      this.block = this.gathered;
      this.gathered = null;
    }
    return undefined;
  }

  onBlock(m, generation) {
    const block = this.block;
    this.block = null;
    if (!block || block.index !== m.index || block.at + block.size !== m.offset) {
      return this.fail('the sender ended a block where none ends');
    }
    const { index, at, buffer, size } = block;
    this.enqueue(async () => {
      // A store may take the buffer (a worker's) and give one back; a taken
      // buffer that did not come back has length 0 and is not kept.
      let spare = buffer;
      try {
        spare = (await this.verifyAndWrite(index, at, size, buffer.subarray(0, size), m.sha256)) || buffer;
      } finally {
        if (spare.length === ACK_EVERY && this.pool.length < POOL) this.pool.push(spare);
      }
    }, generation);
    return undefined;
  }

  /** A block buffer of `length` bytes: full ones come from a small pool. */
  blockBuffer(length) {
    if (length === ACK_EVERY && this.pool.length > 0) return this.pool.pop();
    return new Uint8Array(length);
  }

  /**
   * Checks a block against its SHA-256, then writes it and acknowledges it;
   * returns the buffer to reuse (the store's answer), if any.
   */
  async verifyAndWrite(index, at, size, data, expected) {
    if (this.bad[index]) return undefined;
    const digest = await sha256(data);
    if (hex(digest) !== expected) {
      // Nothing of this file is offered; the rest of it is not written,
      // and the sender is told at once so it stops sending it.
      const reason = `the SHA-256 of bytes ${at}\u2013${at + size} does not match`;
      this.bad[index] = reason;
      this.outcome[index] = reason;
      await this.store.abandon(index);
      this.send({ t: 'failed', index, reason });
      settle(this);
      return undefined;
    }
    const spare = await this.store.write(index, at, data);
    this.digests[index].push(digest);
    this.send(this.receiver.acked(index, at + size));
    return spare;
  }

  /** Writes happen in order, one after another; a failure ends the transfer. */
  enqueue(step, generation) {
    this.queue = this.queue.then(async () => {
      if (generation !== this.generation || !ACTIVE.has(this.state)) return;
      try {
        await step();
      } catch (err) {
        if (ACTIVE.has(this.state)) this.fail(`could not save: ${err.message}`);
      }
    });
  }

  /** Gathered but not written: the resume sends it again. */
  forget() {
    this.gathered = null;
    this.block = null;
  }

  finish(state) {
    const wasActive = ACTIVE.has(this.state);
    super.finish(state);
    if (wasActive && state !== 'done' && state !== 'failed') this.store.discard().catch(() => {});
  }
}
