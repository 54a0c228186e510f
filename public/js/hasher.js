// Incremental SHA-256 of a file being sent or received, with hash-wasm
// (vendored in public/vendor/hash-wasm/; hashInline.js). Hashing is most of what a
// transfer costs beyond the bytes themselves, so where the browser has
// module workers it runs in one (hashWorker.js), off the thread that feeds
// the channel; elsewhere (and in Node, for the tests) it runs inline. Same
// interface either way; every operation is applied in the order it is
// called.
//
// update(bytes) may take the bytes' buffer away (it is transferred to the
// worker): call it after the bytes were sent or written.

/**
 * The inline hasher behind a queue: hashInline.js (and its WebAssembly) is
 * loaded on first use, and operations wait for it in order.
 */
class QueuedHasher {
  constructor() {
    this.ready = import('./hashInline.js').then((m) => new m.InlineHasher());
  }

  update(bytes) {
    this.ready = this.ready.then((h) => (h.update(bytes), h));
  }

  snapshot(offset) {
    this.ready = this.ready.then((h) => (h.snapshot(offset), h));
  }

  restore(offset) {
    this.ready = this.ready.then((h) => (h.restore(offset), h));
  }

  digest() {
    return this.ready.then((h) => h.digest());
  }

  close() {}
}

let worker = null;
let nextKey = 0;
const pending = new Map();

function sharedWorker() {
  if (worker) return worker;
  worker = new Worker(new URL('./hashWorker.js', import.meta.url), { type: 'module' });
  worker.onmessage = (e) => {
    const waiting = pending.get(e.data.request);
    pending.delete(e.data.request);
    if (waiting) waiting.resolve(e.data.hex);
  };
  // A worker that cannot start (or dies) fails what waits on it, with a reason.
  worker.onerror = (e) => {
    console.warn('lanrtc: the hashing worker failed', e.message);
    for (const waiting of pending.values()) waiting.reject(new Error('the file could not be hashed'));
    pending.clear();
  };
  return worker;
}

class WorkerHasher {
  constructor() {
    this.key = ++nextKey;
    this.w = sharedWorker();
    this.w.postMessage({ op: 'start', key: this.key });
  }

  update(bytes) {
    // The whole buffer moves when the view covers it; otherwise a copy.
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    const data = whole ? bytes : bytes.slice();
    this.w.postMessage({ op: 'update', key: this.key, data }, [data.buffer]);
  }

  snapshot(offset) {
    this.w.postMessage({ op: 'snapshot', key: this.key, offset });
  }

  restore(offset) {
    this.w.postMessage({ op: 'restore', key: this.key, offset });
  }

  digest() {
    const request = ++nextKey;
    return new Promise((resolve, reject) => {
      pending.set(request, { resolve, reject });
      this.w.postMessage({ op: 'digest', key: this.key, request });
    });
  }

  close() {
    this.w.postMessage({ op: 'close', key: this.key });
  }
}

/** A new hasher, in the worker where there is one. */
export function createHasher() {
  return typeof Worker === 'function' && typeof window !== 'undefined' ? new WorkerHasher() : new QueuedHasher();
}
