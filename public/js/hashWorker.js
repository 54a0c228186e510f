// The hashing thread for hasher.js: one incremental SHA-256 per key, each
// with its last snapshot. Messages are handled in the order they were sent.
import { InlineHasher } from './hasher.js';

const hashers = new Map();

self.onmessage = async (e) => {
  const m = e.data;
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
};
