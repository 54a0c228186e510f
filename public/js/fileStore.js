// Where received files are written while they arrive, so a 4 GB video needs
// no 4 GB of memory: the origin-private file system (OPFS) where the browser
// can write to it from the page (Chromium, Firefox), else memory with a cap
// that is said up front (Safari's OPFS is writable only from a worker with
// sync access handles; until that is done here it gets the memory store).
// Either way a finished file is a File the page offers as a download: an
// OPFS File is backed by the disk, not by memory.
//
// A store: prepare(files) (may refuse with a message a person can read),
// write(index, position, bytes), truncate(index, size), finish(index) → File,
// discard().

import { sizeText } from './logic/transfer.js';

/** The most a memory store takes in one transfer. */
export const MEMORY_LIMIT = 512 * 1024 * 1024;
const DIR = 'lanrtc-incoming';
/**
 * This page's folder under DIR. The page holds a Web Lock of the same name
 * while it lives, so another tab cleaning up knows which folders are still
 * in use.
 */
const PAGE = `page-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;

/** Whether this browser can write received files to disk from the page. */
export function diskAvailable(global = globalThis) {
  return Boolean(
    global.navigator &&
      global.navigator.storage &&
      typeof global.navigator.storage.getDirectory === 'function' &&
      global.FileSystemFileHandle &&
      typeof global.FileSystemFileHandle.prototype.createWritable === 'function',
  );
}

/** A store for transfer `id`: on disk when the browser allows it. */
export function createStore(id) {
  return diskAvailable() ? diskStore(id) : memoryStore();
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
    kind: 'disk',
    async prepare(offered) {
      const total = offered.reduce((n, f) => n + f.size, 0);
      const { quota = Infinity, usage = 0 } = await navigator.storage.estimate();
      if (total > quota - usage) {
        throw new Error(
          `${sizeText(total)} does not fit: this browser lets the app store ${sizeText(Math.max(0, quota - usage))} more`,
        );
      }
      dir = await (await pageFolder()).getDirectoryHandle(id, { create: true });
      files = offered;
      handles = await Promise.all(offered.map((_, i) => dir.getFileHandle(String(i), { create: true })));
      writables = offered.map(() => null);
    },
    async write(index, position, bytes) {
      const w = await writable(index);
      await w.write({ type: 'write', position, data: bytes });
    },
    async truncate(index, size) {
      const w = await writable(index);
      await w.truncate(size);
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
  if (!diskAvailable() || !navigator.locks) return;
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
