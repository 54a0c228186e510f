// Where received files go (public/js/fileStore.js): through the disk
// worker (public/js/diskWorker.js, whose own source runs here behind a fake
// Worker whose messages are structured clones with real transfers, so a
// sent buffer is detached as in a browser) over an in-memory origin-private
// file system whose sync access handles, like real ones, may write less
// than asked and lock their file; and into a folder a person picked, whose
// writable streams, like real ones, show nothing under the file's name
// until closed.
import test from 'node:test';
import assert from 'node:assert/strict';
import { bytes, sha, until } from './transferHelpers.mjs';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { createStore, diskWorker, folderStore, workerStore } from '../../public/js/fileStore.js';
import { Incoming, Outgoing } from '../../public/js/transferSession.js';
import { ACK_EVERY } from '../../public/js/logic/transfer.js';

/** The fake disk: how much one write takes at most, and whether it is full. */
const disk = { perWrite: 1 << 20, full: false, writes: 0 };

class FakeDirectory {
  constructor(name = '') {
    this.name = name;
    this.children = new Map();
  }
  async *keys() {
    yield* this.children.keys();
  }
  async getDirectoryHandle(name, { create = false } = {}) {
    if (!this.children.has(name)) {
      if (!create) throw new Error(`no folder ${name}`);
      this.children.set(name, new FakeDirectory());
    }
    return this.children.get(name);
  }
  async getFileHandle(name, { create = false } = {}) {
    if (!this.children.has(name)) {
      if (!create) throw new Error(`no file ${name}`);
      this.children.set(name, new FakeFileHandle(name));
    }
    return this.children.get(name);
  }
  async removeEntry(name) {
    const entry = this.children.get(name);
    if (entry instanceof FakeFileHandle && entry.locked) throw new Error(`${name} is open`);
    this.children.delete(name);
  }
}

class FakeFileHandle {
  constructor(name) {
    this.name = name;
    this.bytes = new Uint8Array(0);
    this.locked = false;
  }
  async createSyncAccessHandle() {
    if (this.locked) throw new Error('NoModificationAllowedError: the file is open elsewhere');
    this.locked = true;
    const file = this;
    return {
      write(view, { at }) {
        if (disk.full) return 0;
        disk.writes++;
        const n = Math.min(view.byteLength, disk.perWrite);
        if (at + n > file.bytes.length) {
          const grown = new Uint8Array(at + n);
          grown.set(file.bytes);
          file.bytes = grown;
        }
        file.bytes.set(new Uint8Array(view.buffer, view.byteOffset, n), at);
        return n;
      },
      truncate(size) {
        const kept = new Uint8Array(size);
        kept.set(file.bytes.subarray(0, size));
        file.bytes = kept;
      },
      flush() {},
      close() {
        file.locked = false;
      },
    };
  }
  async getFile() {
    if (this.locked) throw new Error('NoModificationAllowedError: the file is open');
    return new File([this.bytes], this.name);
  }
  /** A writable stream: its writes land in a copy that replaces the file on close. */
  async createWritable({ keepExistingData = false } = {}) {
    const file = this;
    let swap = keepExistingData ? file.bytes.slice() : new Uint8Array(0);
    let open = true;
    const check = () => {
      if (!open) throw new Error('TypeError: the stream is closed');
    };
    return {
      async write({ position, data }) {
        check();
        const end = position + data.byteLength;
        if (end > swap.length) {
          const grown = new Uint8Array(end);
          grown.set(swap);
          swap = grown;
        }
        swap.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
      },
      async truncate(size) {
        check();
        const kept = new Uint8Array(size);
        kept.set(swap.subarray(0, size));
        swap = kept;
      },
      async close() {
        check();
        open = false;
        file.bytes = swap;
      },
      async abort() {
        open = false;
      },
    };
  }
}

const root = new FakeDirectory();
const storage = { getDirectory: async () => root, estimate: async () => ({ quota: 1e12, usage: 0 }) };
Object.defineProperty(globalThis, 'navigator', { value: { storage }, configurable: true });

/** Runs diskWorker.js's source in-process with `self` and the fake disk. */
class FakeWorker {
  constructor(url) {
    const source = readFileSync(fileURLToPath(url), 'utf8');
    this.self = {
      onmessage: null,
      postMessage: (message, transfer = []) => {
        const copy = structuredClone(message, { transfer });
        setImmediate(() => this.onmessage && this.onmessage({ data: copy }));
      },
    };
    new Function('self', 'navigator', 'FileSystemFileHandle', source)(this.self, { storage }, FakeFileHandle);
  }
  postMessage(message, transfer = []) {
    const copy = structuredClone(message, { transfer });
    setImmediate(() => this.self.onmessage({ data: copy }));
  }
}
globalThis.Worker = FakeWorker;



/** A channel pair that delivers at once and buffers nothing; `tamper` may change a piece. */
function channelPair(tamper = (d) => d) {
  const make = () => ({
    bufferedAmount: 0,
    open: true,
    onmessage: null,
    onclose: null,
    send(data) {
      const copy = typeof data === 'string' ? data : tamper(data.slice().buffer);
      setImmediate(() => this.peer.onmessage && this.peer.onmessage(copy));
    },
    drained: () => Promise.resolve(),
    close() {
      this.open = false;
    },
  });
  const a = make();
  const b = make();
  a.peer = b;
  b.peer = a;
  return [a, b];
}


async function transfer(store, files, tamper) {
  const sender = new Outgoing({ files });
  const receiver = new Incoming({ store });
  const [a, b] = channelPair(tamper);
  receiver.attach(b);
  sender.attach(a, 256 * 1024);
  await until('the offer', () => receiver.state === 'asking');
  await receiver.accept();
  await until('the end', () => !['asking', 'receiving'].includes(receiver.state));
  return { sender, receiver };
}

test('the page picks the disk worker where it can write there, and files arrive through it whole', async () => {
  const data = bytes(2 * ACK_EVERY + 12345, 7);
  const store = createStore('t1');
  disk.writes = 0;
  const { receiver } = await transfer(store, [new File([data], 'video.mp4'), new File([], 'empty.txt')]);
  assert.equal(receiver.state, 'done', receiver.error);
  assert.equal(store.kind, 'opfs-worker');
  const got = new Uint8Array(await receiver.received[0].arrayBuffer());
  assert.equal(got.length, data.length);
  assert.equal(sha(got), sha(data));
  assert.equal(receiver.received[0].name, 'video.mp4');
  assert.equal(receiver.received[1].size, 0);
  // Each 4 MiB block took several writes of at most 1 MiB: the worker went on.
  assert.ok(disk.writes >= 9, `only ${disk.writes} writes`);
  // The full blocks' buffers came back from the worker and are kept for reuse.
  assert.ok(receiver.pool.length >= 1 && receiver.pool.every((b) => b.length === ACK_EVERY), 'no buffer came back');
});

test('a disk that takes nothing fails the transfer with the reason, and the file is not offered', async () => {
  disk.full = true;
  try {
    const { receiver, sender } = await transfer(workerStore('t2'), [new File([bytes(100000)], 'a.bin')]);
    assert.equal(receiver.state, 'failed');
    assert.match(receiver.error, /could not save: the disk took nothing \(is it full\?\)/);
    assert.equal(receiver.received[0], null);
    await until('the sender to hear', () => sender.state !== 'sending');
    assert.equal(sender.state, 'failed');
    assert.match(sender.error, /the receiver stopped: could not save: the disk took nothing/);
  } finally {
    disk.full = false;
  }
});

test('the worker answers a request it does not know with its name, and a file not open with its number', async () => {
  const worker = diskWorker();
  await assert.rejects(worker.call({ op: 'format' }), /no such op: format/);
  await assert.rejects(worker.call({ op: 'truncate', key: 'none', index: 3, size: 0 }), /file 3 is not open/);
  // A failed write still hands its buffer back.
  const buffer = new ArrayBuffer(16);
  await assert.rejects(
    worker.call({ op: 'write', key: 'none', index: 0, at: 0, buffer, offset: 0, length: 16 }, [buffer]),
    /file 0 is not open/,
  );
  assert.equal(buffer.byteLength, 0, 'the buffer was not transferred');
});

test('a discarded transfer closes its files and leaves nothing on the disk', async () => {
  const store = workerStore('t3');
  await store.prepare([{ name: 'x', size: 10 }, { name: 'y', size: 10 }]);
  await store.write(0, 0, new Uint8Array(10).fill(1));
  await store.discard();
  const incoming = await root.getDirectoryHandle('lanrtc-incoming');
  const [page] = [...incoming.children.values()].filter((c) => c instanceof FakeDirectory);
  assert.ok(page, 'no page folder');
  assert.equal(page.children.has('t3'), false, 'the transfer folder is still there');
});

test('files received into a picked folder keep their names, numbered beside ones already there', async () => {
  const dir = new FakeDirectory('Downloads');
  const mine = await dir.getFileHandle('Notes.TXT', { create: true });
  mine.bytes = new Uint8Array([1, 2, 3]);
  const notes = bytes(5000, 3);
  const clip = bytes(ACK_EVERY + 10, 4);
  const store = folderStore(dir);
  const { receiver } = await transfer(store, [new File([notes], 'notes.txt'), new File([clip], 'clip.mov'), new File([notes], 'notes.txt')]);
  assert.equal(receiver.state, 'done', receiver.error);
  assert.equal(store.folder, 'Downloads');
  assert.deepEqual([...dir.children.keys()].sort(), ['Notes.TXT', 'clip.mov', 'notes (1).txt', 'notes (2).txt']);
  assert.deepEqual([...mine.bytes], [1, 2, 3], 'a file that was there was touched');
  assert.equal(sha((await dir.getFileHandle('notes (1).txt')).bytes), sha(notes));
  assert.equal(sha((await dir.getFileHandle('clip.mov')).bytes), sha(clip));
  assert.deepEqual(receiver.received.map((f) => f.name), ['notes (1).txt', 'clip.mov', 'notes (2).txt']);
});

test('a file that fails its check is removed from the picked folder, the others stay', async () => {
  const dir = new FakeDirectory('Downloads');
  let pieces = 0;
  // The second file's first piece is corrupted on the way.
  const tamper = (buffer) => {
    if (++pieces === 3) new Uint8Array(buffer)[0] ^= 1;
    return buffer;
  };
  const good = bytes(300 * 1024, 5);
  const store = folderStore(dir);
  const { receiver } = await transfer(store, [new File([good], 'good.bin'), new File([bytes(1000, 6)], 'bad.bin')], tamper);
  assert.equal(receiver.state, 'failed');
  assert.match(receiver.outcome[1], /does not match/);
  assert.deepEqual([...dir.children.keys()], ['good.bin'], 'a failed file was left in the folder');
  assert.equal(sha(dir.children.get('good.bin').bytes), sha(good));
});

test('a disk that never answers fails the request after its deadline instead of hanging', async () => {
  // Opening this folder never completes.
  root.children.set('stuck', { getDirectoryHandle: () => new Promise(() => {}) });
  await assert.rejects(
    diskWorker().call({ op: 'open', key: 'k', path: ['stuck', 'inner'], count: 1 }, [], 50),
    /the disk did not answer within 0.05 s/,
  );
  root.children.delete('stuck');
});
