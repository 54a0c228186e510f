// The incremental SHA-256 the transfers use (public/js/hasher.js, inline
// here as in a browser without workers): in pieces it is the file's
// SHA-256, and a restore to the last snapshot goes on as if the bytes after
// it had never come.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

import { createHasher } from '../../public/js/hasher.js';

const data = Uint8Array.from({ length: 3_000_001 }, (_, i) => (i * 31 + 7) & 255);
const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');

test('hashed in uneven pieces, it is the SHA-256 of the whole', async () => {
  const h = createHasher();
  for (let at = 0; at < data.length; at += 65_537) h.update(data.slice(at, at + 65_537));
  assert.equal(await h.digest(), sha(data));
});

test('a restore to the snapshot forgets what came after it', async () => {
  const h = createHasher();
  h.update(data.slice(0, 1_000_000));
  h.snapshot(1_000_000);
  h.update(new Uint8Array(12345).fill(9)); // arrived, never acknowledged
  h.restore(1_000_000);
  h.update(data.slice(1_000_000));
  assert.equal(await h.digest(), sha(data));
});

test('a restore to 0, or to an offset with no snapshot, starts over', async () => {
  const h = createHasher();
  h.update(data.slice(0, 500));
  h.restore(0);
  h.update(data);
  assert.equal(await h.digest(), sha(data));
  const g = createHasher();
  g.update(data.slice(0, 500));
  g.restore(400);
  g.update(data);
  assert.equal(await g.digest(), sha(data));
});

test('two hashers share the engine without mixing their states', async () => {
  const a = createHasher();
  const b = createHasher();
  a.update(data.slice(0, 10));
  b.update(data.slice(0, 20));
  a.update(data.slice(10, 30));
  assert.equal(await a.digest(), sha(data.slice(0, 30)));
  assert.equal(await b.digest(), sha(data.slice(0, 20)));
});
