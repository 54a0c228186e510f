// SHA-256 with hash-wasm, in the thread that imports this (the hash worker,
// or a page without workers, or Node in the tests); see hasher.js.
// A UMD file: in a browser it sets globalThis.hashwasm, in Node it is
// CommonJS and gives its exports as the default.
const umd = await import('../vendor/hash-wasm/sha256.umd.min.js');
const hashwasm = globalThis.hashwasm || umd.default;
/** One WebAssembly instance; each hasher keeps its own state and loads it in. */
const engine = await hashwasm.createSHA256();

/** A hasher with one snapshot: the state at the last acknowledged offset, for a resume. */
export class InlineHasher {
  constructor() {
    engine.init();
    this.state = engine.save();
    this.snap = null;
  }

  update(bytes) {
    engine.load(this.state);
    engine.update(bytes);
    this.state = engine.save();
  }

  snapshot(offset) {
    this.snap = { offset, state: this.state.slice() };
  }

  /** Back to the state at `offset`: 0, or the last snapshot's offset. */
  restore(offset) {
    if (offset > 0 && this.snap && this.snap.offset === offset) {
      this.state = this.snap.state.slice();
    } else {
      engine.init();
      this.state = engine.save();
    }
  }

  async digest() {
    engine.load(this.state);
    return engine.digest('hex');
  }

  close() {}
}

