// Where received files are written while they arrive, so a 4 GB video needs
// no 4 GB of memory: the origin-private file system (OPFS), through sync
// access handles in a worker (diskWorker.js: Chromium, Firefox, Safari),
// else through the page's writable streams (Chromium, Firefox without
// workers' handles), else memory with a cap that is said up front.
// Either way a finished file is a File the page offers as a download: an
// OPFS File is backed by the disk, not by memory.
//
// On desktop Chromium a person may instead pick a folder on Accept
// (folderStore): files are written straight into it under their own names.
//
// A store: prepare(files) (may refuse with a message a person can read),
// write(index, position, bytes) → the buffer to reuse for the next block
// (bytes, or its replacement when the store took it), truncate(index, size),
// abandon(index) (a file that will not be offered: what it had goes),
// finish(index) → File, discard(); `folder` names where files were saved
// when they need no Save link.

import { freeName, sizeText } from './logic/transfer.js';

/** The most a memory store takes in one transfer. */
export const MEMORY_LIMIT = 512 * 1024 * 1024;
const DIR = 'lanrtc-incoming';
/**
 * This page's folder under DIR. The page holds a Web Lock of the same name
 * while it lives, so another tab cleaning up knows which folders are still
 * in use.
 */
const PAGE = `page-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;

/** Whether this browser has an origin-private file system at all. */
function opfs(global = globalThis) {
  return Boolean(global.navigator && global.navigator.storage && typeof global.navigator.storage.getDirectory === 'function');
}

/** Whether this page can write received files to disk through writable streams. */
export function diskAvailable(global = globalThis) {
  return (
    opfs(global) &&
    Boolean(global.FileSystemFileHandle) &&
    typeof global.FileSystemFileHandle.prototype.createWritable === 'function'
  );
}

/**
 * A store for transfer `id`: on disk when the browser allows it. Which one
 * is known only once the worker has answered, so it is chosen on prepare
 * (Accept); `kind` says which ('opfs-worker', 'opfs-page' or 'memory')
 * from then on.
 */
export function createStore(id) {
  let chosen = null;
  const store = {
    kind: 'undecided',
    async prepare(offered) {
      chosen = (await workerUsable()) ? workerStore(id) : diskAvailable() ? diskStore(id) : memoryStore();
      store.kind = chosen.kind;
      return chosen.prepare(offered);
    },
    write: (...args) => chosen.write(...args),
    truncate: (...args) => chosen.truncate(...args),
    abandon: (...args) => chosen.abandon(...args),
    finish: (...args) => chosen.finish(...args),
    discard: () => (chosen ? chosen.discard() : Promise.resolve()),
  };
  return store;
}

/** Received files kept in memory, refused above `limit` bytes in all. */
export function memoryStore(limit = MEMORY_LIMIT) {
  let files = [];
  let parts = [];
  let lengths = [];
  return {
    kind: 'memory',
    async prepare(offered) {
      const total = offered.reduce((n, f) => n + f.size, 0);
      if (total > limit) {
        throw new Error(
          `this browser keeps received files in memory, and ${sizeText(total)} is more than the ${sizeText(limit)} it can hold safely; send fewer or smaller files, or receive them on a laptop`,
        );
      }
      files = offered;
      parts = offered.map(() => []);
      lengths = offered.map(() => 0);
    },
    async write(index, position, bytes) {
      if (position !== lengths[index]) await this.truncate(index, position);
      parts[index].push(bytes.slice());
      lengths[index] += bytes.length;
      return bytes;
    },
    async truncate(index, size) {
      const kept = [];
      let n = 0;
      for (const part of parts[index]) {
        if (n >= size) break;
        const take = Math.min(part.length, size - n);
        kept.push(take === part.length ? part : part.slice(0, take));
        n += take;
      }
      parts[index] = kept;
      lengths[index] = n;
    },
    async abandon(index) {
      await this.truncate(index, 0);
    },
    async finish(index) {
      const f = files[index];
      const file = new File(parts[index], f.name, { type: f.type });
      parts[index] = [];
      return file;
    },
    async discard() {
      parts = [];
    },
  };
}

/** Received files written to the origin-private file system as they come. */
export function diskStore(id) {
  let dir = null;
  let files = [];
  let handles = [];
  let writables = [];
  return {
    kind: 'opfs-page',
    async prepare(offered) {
      await checkRoom(offered);
      dir = await (await pageFolder()).getDirectoryHandle(id, { create: true });
      files = offered;
      handles = await Promise.all(offered.map((_, i) => dir.getFileHandle(String(i), { create: true })));
      writables = offered.map(() => null);
    },
    async write(index, position, bytes) {
      const w = await writable(index);
      await w.write({ type: 'write', position, data: bytes });
      return bytes;
    },
    async truncate(index, size) {
      const w = await writable(index);
      await w.truncate(size);
    },
    async abandon(index) {
      await this.truncate(index, 0);
    },
    async finish(index) {
      const w = await writable(index);
      writables[index] = null;
      await w.close();
      const stored = await handles[index].getFile();
      const f = files[index];
      return new File([stored], f.name, { type: f.type || stored.type });
    },
    async discard() {
      for (const w of writables) if (w) await w.abort().catch(() => {});
      writables = [];
      if (dir) await (await pageFolder()).removeEntry(id, { recursive: true }).catch(() => {});
    },
  };

  async function writable(index) {
    if (!writables[index]) writables[index] = await handles[index].createWritable({ keepExistingData: true });
    return writables[index];
  }
}

/**
 * Received files written by the worker through sync access handles; the
 * page opens the finished file itself (the worker has closed it by then).
 */
export function workerStore(id, worker = diskWorker()) {
  const key = `${PAGE}/${id}`;
  let files = [];
  let opened = false;
  return {
    kind: 'opfs-worker',
    async prepare(offered) {
      await checkRoom(offered);
      files = offered;
      opened = true;
      await worker.call({ op: 'open', key, path: [DIR, PAGE, id], count: offered.length });
    },
    async write(index, at, bytes) {
      const answer = await worker.call(
        { op: 'write', key, index, at, buffer: bytes.buffer, offset: bytes.byteOffset, length: bytes.length },
        [bytes.buffer],
      );
      return new Uint8Array(answer.buffer);
    },
    async truncate(index, size) {
      await worker.call({ op: 'truncate', key, index, size });
    },
    async abandon(index) {
      await this.truncate(index, 0);
    },
    async finish(index) {
      await worker.call({ op: 'close', key, index });
      const dir = await (await pageFolder()).getDirectoryHandle(id);
      const stored = await (await dir.getFileHandle(String(index))).getFile();
      const f = files[index];
      return new File([stored], f.name, { type: f.type || stored.type });
    },
    async discard() {
      if (!opened) return;
      await worker.call({ op: 'discard', key }).catch(() => {});
      await (await pageFolder()).removeEntry(id, { recursive: true }).catch(() => {});
    },
  };
}

/** Whether a person can pick a folder to receive into (desktop Chromium). */
export function folderPickable(global = globalThis) {
  return typeof global.showDirectoryPicker === 'function';
}

/** Asks for a folder to receive into: its handle, or null when the person backed out. */
export async function pickFolder() {
  try {
    return await showDirectoryPicker({ id: 'lanrtc-received', mode: 'readwrite', startIn: 'downloads' });
  } catch (err) {
    if (err && err.name === 'AbortError') return null;
    throw err;
  }
}

/**
 * Received files written straight into a folder the person picked, each
 * under its own name (numbered when the folder has one already). The
 * browser writes beside the file and moves the bytes into place on close,
 * so a file appears under its name only once verified; one that fails is
 * removed.
 */
export function folderStore(dir) {
  let files = [];
  let names = [];
  let writables = [];
  let created = [];
  const handle = (index) => dir.getFileHandle(names[index], { create: true });
  const writable = async (index) => {
    if (!writables[index]) {
      created[index] = true;
      writables[index] = await (await handle(index)).createWritable({ keepExistingData: true });
    }
    return writables[index];
  };
  const drop = async (index) => {
    const w = writables[index];
    writables[index] = null;
    if (w) await w.abort().catch(() => {});
    if (created[index]) await dir.removeEntry(names[index]).catch(() => {});
    created[index] = false;
  };
  return {
    kind: 'folder',
    folder: dir.name,
    async prepare(offered) {
      // Granted with the picker; asked again only if it was taken back since.
      if (typeof dir.requestPermission === 'function' && (await dir.requestPermission({ mode: 'readwrite' })) !== 'granted') {
        throw new Error(`the browser may not write to ${dir.name}`);
      }
      const taken = new Set();
      for await (const name of dir.keys()) taken.add(name.toLowerCase());
      files = offered;
      names = offered.map((f) => freeName(f.name, taken));
      writables = offered.map(() => null);
      created = offered.map(() => false);
    },
    async write(index, position, bytes) {
      await (await writable(index)).write({ type: 'write', position, data: bytes });
      return bytes;
    },
    async truncate(index, size) {
      await (await writable(index)).truncate(size);
    },
    abandon: drop,
    async finish(index) {
      const w = await writable(index);
      writables[index] = null;
      await w.close();
      const stored = await (await handle(index)).getFile();
      return new File([stored], names[index], { type: files[index].type || stored.type });
    },
    async discard() {
      for (let i = 0; i < names.length; i++) if (writables[i]) await drop(i);
    },
  };
}

/** Refuses files that will not fit in what the browser lets the app store. */
async function checkRoom(offered) {
  const total = offered.reduce((n, f) => n + f.size, 0);
  // Older Safari has no estimate(); its quota prompt or error comes on write.
  if (typeof navigator.storage.estimate !== 'function') return;
  const { quota = Infinity, usage = 0 } = await navigator.storage.estimate();
  if (total > quota - usage) {
    throw new Error(
      `${sizeText(total)} does not fit: this browser lets the app store ${sizeText(Math.max(0, quota - usage))} more`,
    );
  }
}

let shared = null;
/** A request the worker has not answered by then fails (a 4 MiB write takes milliseconds). */
const WORKER_LIMIT_MS = 60000;

/**
 * The page's one disk worker, started on first use: call(request,
 * transfer) → Promise of its answer, rejected with the worker's reason.
 */
export function diskWorker() {
  if (shared) return shared;
  const pending = new Map();
  let next = 0;
  let worker = null;
  let broken = null;
  const fail = (why) => {
    broken = why;
    for (const { reject } of pending.values()) reject(new Error(why));
    pending.clear();
  };
  try {
    worker = new Worker(new URL('./diskWorker.js', import.meta.url));
    worker.onmessage = (e) => {
      const waiting = pending.get(e.data.id);
      if (!waiting) return;
      pending.delete(e.data.id);
      if (e.data.ok) waiting.resolve(e.data);
      else waiting.reject(new Error(e.data.error));
    };
    worker.onerror = (e) => fail(`the disk worker stopped: ${e.message || 'unknown error'}`);
  } catch (err) {
    broken = `no disk worker: ${err.message}`;
  }
  shared = {
    call(request, transfer = [], limit = WORKER_LIMIT_MS) {
      if (broken) return Promise.reject(new Error(broken));
      const id = ++next;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`the disk did not answer within ${limit / 1000} s`));
        }, limit);
        const settled = (f) => (value) => {
          clearTimeout(timer);
          f(value);
        };
        pending.set(id, { resolve: settled(resolve), reject: settled(reject) });
        worker.postMessage({ ...request, id }, transfer);
      });
    },
  };
  return shared;
}

let usable = null;

/** Whether the worker can write to the origin-private file system (asked once). */
function workerUsable() {
  if (!usable) {
    usable =
      opfs() && typeof Worker === 'function'
        ? diskWorker()
            .call({ op: 'probe' })
            .then((a) => a.usable === true)
            .catch((err) => {
              console.debug('lanrtc: no disk worker', err);
              return false;
            })
        : Promise.resolve(false);
  }
  return usable;
}

async function pageFolder() {
  const root = await navigator.storage.getDirectory();
  const parent = await root.getDirectoryHandle(DIR, { create: true });
  return parent.getDirectoryHandle(PAGE, { create: true });
}

/**
 * Holds this page's lock, and removes what pages that are gone left on disk:
 * their downloads died with them (a File's URL lives as long as its page).
 */
export async function clearLeftovers() {
  if (!opfs() || !navigator.locks) return;
  navigator.locks.request(PAGE, () => new Promise(() => {}));
  try {
    const held = new Set((await navigator.locks.query()).held.map((l) => l.name));
    const root = await navigator.storage.getDirectory();
    const parent = await root.getDirectoryHandle(DIR, { create: true });
    for await (const name of parent.keys()) {
      if (name !== PAGE && !held.has(name)) await parent.removeEntry(name, { recursive: true }).catch(() => {});
    }
  } catch (err) {
    console.debug('lanrtc: could not tidy received files', err);
  }
}
