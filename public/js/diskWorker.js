// Writes received files to the origin-private file system through sync
// access handles, which browsers give only to a dedicated worker: Safari
// has no other way to write there, and in Chromium a handle's write is a
// plain write to the file from this thread, where the page's writable
// stream sends every block to the browser's own process first.
//
// A classic worker with no imports (older engines lack module workers).
// Requests are {id, op, ...} and each gets {id, ok, error?, ...} back; the
// block a write carries is transferred here and back, so the page reuses
// its buffer. Older Safari returns promises from the handle's methods; the
// awaits below take either.
//
// Ops: probe; open {key, path: [folder, ...], count}; write {key, index,
// at, buffer, offset, length}; truncate {key, index, size}; close {key,
// index}; discard {key}.

const stores = new Map();

async function folder(path) {
  let dir = await navigator.storage.getDirectory();
  for (const name of path) dir = await dir.getDirectoryHandle(name, { create: true });
  return dir;
}

function handleOf(key, index) {
  const handles = stores.get(key);
  const handle = handles && handles[index];
  if (!handle) throw new Error(`file ${index} is not open`);
  return handle;
}

const ops = {
  async probe() {
    const ok =
      typeof FileSystemFileHandle === 'function' &&
      typeof FileSystemFileHandle.prototype.createSyncAccessHandle === 'function' &&
      Boolean(navigator.storage && navigator.storage.getDirectory);
    if (!ok) return { usable: false };
    // Some engines expose the method yet refuse it (private browsing).
    const dir = await folder(['lanrtc-incoming']);
    const file = await dir.getFileHandle('probe', { create: true });
    const handle = await file.createSyncAccessHandle();
    await handle.close();
    await dir.removeEntry('probe').catch(() => {});
    return { usable: true };
  },
  async open({ key, path, count }) {
    const dir = await folder(path);
    const handles = [];
    stores.set(key, handles);
    for (let i = 0; i < count; i++) {
      const file = await dir.getFileHandle(String(i), { create: true });
      handles.push(await file.createSyncAccessHandle());
    }
    return {};
  },
  async write({ key, index, at, buffer, offset, length }) {
    const handle = handleOf(key, index);
    const bytes = new Uint8Array(buffer, offset, length);
    let done = 0;
    while (done < length) {
      const n = await handle.write(done === 0 ? bytes : bytes.subarray(done), { at: at + done });
      if (!(n > 0)) throw new Error('the disk took nothing (is it full?)');
      done += n;
    }
    return { buffer, transfer: [buffer] };
  },
  async truncate({ key, index, size }) {
    await handleOf(key, index).truncate(size);
    return {};
  },
  async close({ key, index }) {
    const handle = handleOf(key, index);
    await handle.flush();
    await handle.close();
    stores.get(key)[index] = null;
    return {};
  },
  async discard({ key }) {
    for (const handle of stores.get(key) || []) {
      if (handle) await Promise.resolve(handle.close()).catch(() => {});
    }
    stores.delete(key);
    return {};
  },
};

self.onmessage = async (e) => {
  const { id, op } = e.data;
  try {
    if (!Object.prototype.hasOwnProperty.call(ops, op)) throw new Error(`no such op: ${op}`);
    const { transfer = [], ...answer } = await ops[op](e.data);
    self.postMessage({ id, ok: true, ...answer }, transfer);
  } catch (err) {
    // A write that failed still gives its buffer back.
    const buffer = op === 'write' && e.data.buffer && e.data.buffer.byteLength > 0 ? e.data.buffer : undefined;
    self.postMessage({ id, ok: false, error: String((err && err.message) || err), buffer }, buffer ? [buffer] : []);
  }
};
