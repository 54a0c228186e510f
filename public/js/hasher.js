// Incremental SHA-256 of a file being sent or received. Hashing is most of
// what a transfer costs beyond the bytes themselves (the benchmark moved
// 97 % of a bare data channel's speed without it, 68 % with it on the main
// thread), so where the browser has module workers it runs in one
// (hashWorker.js), off the thread that feeds the channel; elsewhere (and in
// Node, for the tests) it runs inline. Same interface either way; every
// operation is applied in the order it is called.
//
// update(bytes) may take the bytes' buffer away (it is transferred to the
// worker): call it after the bytes were sent or written.

import { sha256 } from '../vendor/noble-hashes/sha2.js';
import { hex } from './logic/transfer.js';

/** A hasher with one snapshot: the state at the last acknowledged offset, for a resume. */
class InlineHasher {
  constructor() {
    this.h = sha256.create();
    this.snap = null;
  }

  update(bytes) {
    this.h.update(bytes);
  }

  snapshot(offset) {
    this.snap = { offset, h: this.h.clone() };
  }

  /** Back to the state at `offset`: 0, or the last snapshot's offset. */
  restore(offset) {
    this.h = offset > 0 && this.snap && this.snap.offset === offset ? this.snap.h.clone() : sha256.create();
  }

  async digest() {
    return hex(this.h.digest());
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
    const resolve = pending.get(e.data.request);
    pending.delete(e.data.request);
    if (resolve) resolve(e.data.hex);
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
    return new Promise((resolve) => {
      pending.set(request, resolve);
      this.w.postMessage({ op: 'digest', key: this.key, request });
    });
  }

  close() {
    this.w.postMessage({ op: 'close', key: this.key });
  }
}

/** A new hasher, in the worker where there is one. */
export function createHasher() {
  return typeof Worker === 'function' && typeof window !== 'undefined' ? new WorkerHasher() : new InlineHasher();
}

export { InlineHasher };
