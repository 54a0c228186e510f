// The hashing thread for hasher.js: one incremental SHA-256 per key, each
// with its last snapshot. The handler is in place at once (a message that
// came while hashInline.js and its WebAssembly still load would otherwise be
// lost), and messages are handled one after another, in order.
const loading = import('./hashInline.js');
const hashers = new Map();
let queue = Promise.resolve();

self.onmessage = (e) => {
  queue = queue.then(() => handle(e.data)).catch((err) => console.warn('lanrtc: hashing failed', err));
};

async function handle(m) {
  const { InlineHasher } = await loading;
  if (m.op === 'start') {
    hashers.set(m.key, new InlineHasher());
    return;
  }
  const h = hashers.get(m.key);
  if (!h) return;
  switch (m.op) {
    case 'update':
      h.update(m.data);
      break;
    case 'snapshot':
      h.snapshot(m.offset);
      break;
    case 'restore':
      h.restore(m.offset);
      break;
    case 'digest':
      self.postMessage({ request: m.request, hex: await h.digest() });
      hashers.delete(m.key);
      break;
    case 'close':
      hashers.delete(m.key);
      break;
    default:
      break;
  }
}
