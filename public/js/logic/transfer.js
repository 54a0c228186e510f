// The file-transfer protocol's logic, without a DOM, a data channel or a
// file system (those come from the feature and ui modules that use it), so
// every decision is unit-tested in tests/js/transfer.test.mjs.
//
// On the transfer's own data channel (ordered, reliable), control messages
// are JSON text and file bytes are binary messages:
//   sender → receiver  {"t":"offer","files":[{"name","size","type"}],"text"?}
//   receiver → sender  {"t":"accept","from":[offset per file]} | {"t":"decline"}
//   sender → receiver  {"t":"file","index","offset"}, then binary pieces, a
//                      {"t":"block","index","offset","sha256"} after each
//                      ACK_EVERY bytes (and the file's last bytes), then
//                      {"t":"end","index","sha256"} (over the blocks' SHA-256s)
//   receiver → sender  {"t":"ack","index","offset"}  (bytes safely written)
//                      {"t":"verified","index"} | {"t":"failed","index","reason"}
//   either side        {"t":"cancel","reason"?}
// A transfer that resumes (the connection dropped, the page's signaling
// reconnected) is offered again with the same files; the receiver's
// `accept` says from which offset of each file to go on: what it had
// acknowledged, never more.

/** The largest piece every engine takes in one message (Chromium: 256 KiB). */
export const MAX_PIECE = 256 * 1024;
/** Older stacks fail above 16–64 KiB: the size when the channel says nothing. */
export const DEFAULT_PIECE = 64 * 1024;
export const MIN_PIECE = 16 * 1024;
/** Stop queueing above this much buffered data, go on below the low mark. */
export const BUFFER_HIGH = 4 * 1024 * 1024;
export const BUFFER_LOW = 1024 * 1024;
/** The receiver acknowledges at least this often (bytes), and at each file's end. */
export const ACK_EVERY = 4 * 1024 * 1024;
/**
 * The sender keeps at most this many bytes of a file sent but not yet
 * acknowledged, so a receiver whose disk is slower than the link holds a
 * bounded amount in memory.
 */
export const WINDOW = 16 * 1024 * 1024;
/** Files in one offer, and the longest text sent with "Send text". */
export const MAX_FILES = 1000;
export const MAX_TEXT = 64 * 1024;
/** Speed is averaged over this window (ms). */
export const SPEED_WINDOW_MS = 3000;

/**
 * The piece size for a connection whose SCTP transport allows messages of
 * `maxMessageSize` bytes (`pc.sctp.maxMessageSize`; 0, missing or not
 * finite when unknown): the largest power of two within it and MAX_PIECE.
 */
export function pieceSize(maxMessageSize) {
  if (!Number.isFinite(maxMessageSize) || maxMessageSize <= 0) {
    return maxMessageSize === Infinity ? MAX_PIECE : DEFAULT_PIECE;
  }
  if (maxMessageSize < MIN_PIECE) return Math.max(1024, 2 ** Math.floor(Math.log2(maxMessageSize)));
  let size = MIN_PIECE;
  while (size * 2 <= Math.min(maxMessageSize, MAX_PIECE)) size *= 2;
  return size;
}

/**
 * Flow control: may the sender queue another piece with `buffered` bytes
 * waiting in the channel and `unacked` bytes of the file not yet
 * acknowledged by the receiver?
 */
export function canQueue(buffered, unacked = 0) {
  return buffered < BUFFER_HIGH && unacked < WINDOW;
}

/** A file name safe to save: no directories, no control characters, not empty. */
export function safeFileName(name) {
  const base = String(name).split(/[\\/]/).pop();
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 200);
  return clean === '' || clean === '.' || clean === '..' ? 'file' : clean;
}

/**
 * The first of `name`, "name (1)", "name (2)"… (the number before the
 * extension) that is not in `taken`, a Set of lower-cased names (folders on
 * macOS and Windows ignore case). Adds the chosen name to `taken`.
 */
export function freeName(name, taken) {
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  for (let n = 0; ; n++) {
    const candidate = n === 0 ? name : `${stem} (${n})${ext}`;
    if (!taken.has(candidate.toLowerCase())) {
      taken.add(candidate.toLowerCase());
      return candidate;
    }
  }
}

/**
 * The offer for `files` (each {name, size, type}); `resume` when the same
 * offer is made again after the connection dropped.
 */
export function offerMessage(files, text = null, resume = false) {
  const message = {
    t: 'offer',
    files: files.map((f) => ({ name: String(f.name), size: f.size, type: String(f.type || '') })),
  };
  if (text !== null) message.text = String(text);
  if (resume) message.resume = true;
  return message;
}

/**
 * A control message from the other side, checked: the message, or
 * {t: 'invalid', why} saying what was wrong with it.
 */
export function parseControl(text) {
  let m;
  try {
    m = JSON.parse(text);
  } catch {
    return invalid('not JSON');
  }
  if (m === null || typeof m !== 'object' || typeof m.t !== 'string') return invalid('no type');
  const index = (v) => Number.isInteger(v) && v >= 0 && v < MAX_FILES;
  const offset = (v) => Number.isSafeInteger(v) && v >= 0;
  switch (m.t) {
    case 'offer': {
      if (!Array.isArray(m.files) || m.files.length > MAX_FILES) return invalid('files must be a list');
      if (m.files.length === 0 && typeof m.text !== 'string') return invalid('nothing offered');
      if (m.text !== undefined && (typeof m.text !== 'string' || m.text.length > MAX_TEXT)) {
        return invalid('text too long');
      }
      const files = [];
      for (const f of m.files) {
        if (f === null || typeof f !== 'object' || typeof f.name !== 'string' || !offset(f.size)) {
          return invalid('a file needs a name and a size');
        }
        files.push({ name: safeFileName(f.name), size: f.size, type: typeof f.type === 'string' ? f.type.slice(0, 100) : '' });
      }
      const offer = { t: 'offer', files, resume: m.resume === true };
      if (m.text !== undefined) offer.text = m.text;
      return offer;
    }
    case 'accept':
      if (!Array.isArray(m.from) || !m.from.every(offset)) return invalid('accept needs an offset per file');
      return { t: 'accept', from: m.from };
    case 'file':
    case 'ack':
      if (!index(m.index) || !offset(m.offset)) return invalid(`${m.t} needs an index and an offset`);
      return { t: m.t, index: m.index, offset: m.offset };
    case 'end':
      if (!index(m.index) || !isSha256(m.sha256)) return invalid('end needs an index and a SHA-256');
      return { t: 'end', index: m.index, sha256: m.sha256 };
    case 'block':
      if (!index(m.index) || !offset(m.offset) || !isSha256(m.sha256)) {
        return invalid('block needs an index, an offset and a SHA-256');
      }
      return { t: 'block', index: m.index, offset: m.offset, sha256: m.sha256 };
    case 'verified':
      return index(m.index) ? { t: 'verified', index: m.index } : invalid('verified needs an index');
    case 'failed':
      return index(m.index) ? { t: 'failed', index: m.index, reason: String(m.reason || '') } : invalid('failed needs an index');
    case 'decline':
      return { t: m.t };
    case 'cancel':
      // A reason says the other side failed rather than a person cancelling.
      return m.reason ? { t: 'cancel', reason: String(m.reason).slice(0, 300) } : { t: 'cancel' };
    default:
      return invalid(`unknown message ${JSON.stringify(m.t).slice(0, 40)}`);
  }
}

function isSha256(v) {
  return typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
}

function invalid(why) {
  return { t: 'invalid', why };
}

/**
 * The sender's plan once the receiver accepted: for each file, where to
 * start. Blocks are ACK_EVERY bytes from the file's start, and a resume
 * goes on at a block's end (or the file's); any other offset, or one beyond
 * the file (a confused or hostile receiver), starts that file over rather
 * than skipping data.
 */
export function sendPlan(files, from) {
  return files.map((f, index) => {
    const v = from[index];
    const ok = Number.isSafeInteger(v) && v >= 0 && v <= f.size && (v % ACK_EVERY === 0 || v === f.size);
    const start = ok ? v : 0;
    return { index, offset: start, size: f.size };
  });
}

/**
 * The receiver's accounting for one offered set of files. Pure: each call
 * returns what to do; the caller writes the bytes and sends the messages.
 */
export function createReceiver(files, have = []) {
  const state = files.map((f, i) => ({
    size: f.size,
    // Bytes received, and of those safely written and acknowledged: a
    // resume goes on from `acked`.
    written: Number.isSafeInteger(have[i]) && have[i] <= f.size ? have[i] : 0,
    acked: Number.isSafeInteger(have[i]) && have[i] <= f.size ? have[i] : 0,
    done: false,
  }));
  let current = null;

  return {
    /** The `accept` message: go on from what was acknowledged. */
    accept() {
      return { t: 'accept', from: state.map((s) => s.acked) };
    },

    /** `file` from the sender: bytes of `index` follow from `offset`. */
    onFile(index, offset) {
      const s = state[index];
      if (!s) return { error: `there is no file ${index}` };
      if (s.done) return { error: `file ${index} is already complete` };
      if (offset !== s.acked) return { error: `file ${index} was resumed at ${offset}, not at ${s.acked}` };
      current = index;
      s.written = offset;
      return { ok: true };
    },

    /**
     * A binary piece of `length` bytes arrived: where to write it, and the
     * `ack` to send once it is written (null until ACK_EVERY more bytes).
     */
    onPiece(length) {
      if (current === null) return { error: 'bytes before any file' };
      const s = state[current];
      if (s.written + length > s.size) return { error: `file ${current} is longer than offered` };
      const at = s.written;
      s.written += length;
      const ack = s.written - s.acked >= ACK_EVERY || s.written === s.size;
      return { index: current, at, ack };
    },

    /** The caller has written `index` up to `offset` (pieces are written in order): the `ack`. */
    acked(index, offset) {
      const s = state[index];
      s.acked = Math.max(s.acked, Math.min(offset, s.written));
      return { t: 'ack', index, offset: s.acked };
    },

    /**
     * `end` from the sender, with the SHA-256 (over the blocks' SHA-256s)
     * the receiver computed of what it wrote (`actual`, hex): verified, or
     * why not.
     */
    onEnd(index, expected, actual) {
      const s = state[index];
      if (!s) return { t: 'failed', index, reason: 'unknown file' };
      // The next file may have begun meanwhile (ends are checked once written).
      if (current === index) current = null;
      if (s.written !== s.size) {
        return { t: 'failed', index, reason: `truncated: ${s.written} of ${s.size} bytes` };
      }
      if (expected !== actual) {
        // Nothing of it can be trusted: a resume starts this file over.
        s.written = 0;
        s.acked = 0;
        return { t: 'failed', index, reason: 'the SHA-256 does not match' };
      }
      s.done = true;
      return { t: 'verified', index };
    },

    /** How far each file got, for a resume after a drop. */
    have() {
      return state.map((s) => s.acked);
    },

    get complete() {
      return state.every((s) => s.done);
    },

    /** Bytes received of all files, and the total. */
    get bytes() {
      return {
        done: state.reduce((n, s) => n + s.written, 0),
        total: state.reduce((n, s) => n + s.size, 0),
      };
    },
  };
}

/**
 * Progress from samples of [ms, bytes done] (oldest first): percent,
 * speed in bytes per second over the last SPEED_WINDOW_MS, and the
 * seconds left at that speed (null while unknown).
 */
export function progress(samples, total) {
  if (samples.length === 0) return { percent: 0, speed: 0, secondsLeft: null };
  const [now, done] = samples[samples.length - 1];
  const percent = total > 0 ? Math.min(100, (done / total) * 100) : 100;
  const since = samples.find(([t]) => now - t <= SPEED_WINDOW_MS) || samples[samples.length - 1];
  const ms = now - since[0];
  const speed = ms > 0 ? ((done - since[1]) * 1000) / ms : 0;
  const secondsLeft = speed > 0 ? Math.ceil((total - done) / speed) : null;
  return { percent, speed, secondsLeft };
}

/** "4.2 MB", "980 KB", "12 bytes": a size as a person reads it. */
export function sizeText(bytes) {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${Math.round(bytes / 1e3)} KB`;
  return bytes === 1 ? '1 byte' : `${bytes} bytes`;
}

/** "Alice wants to send you 3 files (52.4 MB)". */
export function offerText(name, files) {
  const total = files.reduce((n, f) => n + f.size, 0);
  const what = files.length === 1 ? `${files[0].name}` : `${files.length} files`;
  return `${name} wants to send you ${what} (${sizeText(total)})`;
}

/** "2 min 5 s left", "40 s left", "" while unknown. */
export function timeLeftText(seconds) {
  if (seconds === null || !Number.isFinite(seconds)) return '';
  if (seconds >= 3600) return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min left`;
  if (seconds >= 60) return `${Math.floor(seconds / 60)} min ${seconds % 60} s left`;
  return `${seconds} s left`;
}

/** Bytes as lowercase hex (a SHA-256 digest for `end`). */
export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** "12.5 MB/s", "980 KB/s": what a person reads. */
export function speedText(bytesPerSecond) {
  if (bytesPerSecond >= 1e6) return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
  return `${Math.round(bytesPerSecond / 1e3)} KB/s`;
}
