// Both ends of a transfer (public/js/transferSession.js) over an in-memory
// channel that delivers asynchronously and counts what is buffered, as a
// data channel does: what each side sees when files are accepted,
// declined, cancelled, interrupted and resumed, corrupted or cut short.
import test from 'node:test';
import assert from 'node:assert/strict';
import { bytes, sha, until } from './transferHelpers.mjs';

import { BUFFER_LOW } from '../../public/js/logic/transfer.js';
import { memoryStore } from '../../public/js/fileStore.js';
import { Incoming, Outgoing } from '../../public/js/transferSession.js';

/**
 * Two connected channel ends; `tamper(data)` may change what a→b carries,
 * and `drop(text)` true loses a control message b→a.
 */
function channelPair(tamper = (d) => d, drop = () => false) {
  const make = () => {
    const end = {
      bufferedAmount: 0,
      closed: false,
      onmessage: null,
      onclose: null,
      waiters: [],
      sentBytes: 0,
      get open() {
        return !end.closed;
      },
      send(data) {
        if (end.closed) throw new Error('closed');
        let copy = typeof data === 'string' ? data : data.slice().buffer;
        if (end === a && typeof copy !== 'string') copy = tamper(copy);
        if (end === b && typeof copy === 'string' && drop(copy)) return;
        const n = typeof data === 'string' ? data.length : data.byteLength;
        end.bufferedAmount += n;
        end.sentBytes += typeof data === 'string' ? 0 : n;
        setImmediate(() => {
          end.bufferedAmount -= n;
          if (end.bufferedAmount <= BUFFER_LOW) for (const w of end.waiters.splice(0)) w();
          if (!end.peer.closed && end.peer.onmessage) end.peer.onmessage(copy);
        });
      },
      drained() {
        return new Promise((resolve) => (end.bufferedAmount <= BUFFER_LOW ? resolve() : end.waiters.push(resolve)));
      },
      close() {
        if (end.closed) return;
        end.closed = true;
        for (const w of end.waiters.splice(0)) w();
        setImmediate(() => end.peer.close());
        if (end.onclose) end.onclose();
      },
    };
    return end;
  };
  const a = make();
  const b = make();
  a.peer = b;
  b.peer = a;
  return [a, b];
}




/** A memory store that records whether it was ever opened. */
function watchedStore(limit) {
  const store = memoryStore(limit);
  const watched = { ...store, prepared: false };
  watched.prepare = async (files) => {
    watched.prepared = true;
    return store.prepare(files);
  };
  return watched;
}

function ends({ files, text = null, tamper, limit } = {}) {
  const store = watchedStore(limit);
  const sender = new Outgoing({ files, text });
  const receiver = new Incoming({ store });
  const [a, b] = channelPair(tamper);
  receiver.attach(b);
  sender.attach(a, 64 * 1024);
  return { sender, receiver, store, a, b };
}

const blob = (data, name) => new File([data], name);

test('nothing moves before Accept; then every file arrives whole and verified', async () => {
  const big = bytes(5 * 1024 * 1024 + 7);
  const files = [blob(big, 'video.mov'), blob(bytes(10, 2), 'note.txt'), blob(new Uint8Array(0), 'empty')];
  const { sender, receiver, store, a } = ends({ files });
  await until('the question', () => receiver.state === 'asking');
  assert.deepEqual(
    receiver.files.map((f) => [f.name, f.size]),
    [
      ['video.mov', big.length],
      ['note.txt', 10],
      ['empty', 0],
    ],
  );
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(store.prepared, false, 'the store was opened before Accept');
  assert.equal(a.sentBytes, 0, 'bytes were sent before Accept');
  await receiver.accept();
  await until('both ends done', () => sender.state === 'done' && receiver.state === 'done');
  for (const [i, f] of files.entries()) {
    const got = new Uint8Array(await receiver.received[i].arrayBuffer());
    assert.equal(sha(got), sha(new Uint8Array(await f.arrayBuffer())), f.name);
    assert.equal(receiver.received[i].name, f.name);
  }
  assert.deepEqual(sender.outcome, ['verified', 'verified', 'verified']);
  assert.equal(sender.bytes.done, sender.bytes.total);
});

test('a declined offer sends nothing and tells the sender', async () => {
  const { sender, receiver, store, a } = ends({ files: [blob(bytes(100000), 'a.bin')] });
  await until('the question', () => receiver.state === 'asking');
  receiver.decline();
  await until('the sender knows', () => sender.state === 'declined');
  assert.equal(store.prepared, false);
  assert.equal(a.sentBytes, 0);
});

test('cancel on either side ends it for both', async () => {
  for (const who of ['sender', 'receiver']) {
    const { sender, receiver } = ends({ files: [blob(bytes(40 * 1024 * 1024), 'big.bin')] });
    await until('the question', () => receiver.state === 'asking');
    await receiver.accept();
    await until('some progress', () => receiver.bytes.done > 1024 * 1024);
    (who === 'sender' ? sender : receiver).cancel();
    await until(`both cancelled (${who})`, () => sender.state === 'cancelled' && receiver.state === 'cancelled');
    assert.ok(receiver.bytes.done < receiver.bytes.total, who);
  }
});

test('a text is shown at once and needs no Accept', async () => {
  const { sender, receiver } = ends({ files: [], text: 'https://example.org/a' });
  await until('done', () => sender.state === 'done' && receiver.state === 'done');
  assert.equal(receiver.text, 'https://example.org/a');
});

test('a dropped connection resumes from the last acknowledged piece, and the file is right', async () => {
  const data = bytes(24 * 1024 * 1024 + 5, 3);
  const { sender, receiver, a } = ends({ files: [blob(data, 'movie.mp4')] });
  await until('the question', () => receiver.state === 'asking');
  await receiver.accept();
  await until('past 9 MiB acknowledged', () => sender.acked[0] >= 9 * 1024 * 1024);
  a.close();
  await until('both interrupted', () => sender.state === 'interrupted' && receiver.state === 'interrupted');
  const [a2, b2] = channelPair();
  receiver.attach(b2);
  sender.attach(a2, 64 * 1024);
  await until('both done', () => sender.state === 'done' && receiver.state === 'done');
  assert.ok(sender.resumedFrom >= 8 * 1024 * 1024, `resumed from ${sender.resumedFrom}`);
  assert.equal(sender.resumedFrom % (4 * 1024 * 1024), 0, 'a resume starts at an acknowledged offset');
  assert.ok(a2.sentBytes <= data.length - sender.resumedFrom, 'the second connection resent what the receiver had');
  const got = new Uint8Array(await receiver.received[0].arrayBuffer());
  assert.equal(sha(got), sha(data));
});

test('a corrupted piece is caught by the hash and the file is never offered as complete', async () => {
  let flipped = false;
  const tamper = (buffer) => {
    if (!flipped && buffer.byteLength > 100) {
      flipped = true;
      new Uint8Array(buffer)[50] ^= 1;
    }
    return buffer;
  };
  const { sender, receiver } = ends({ files: [blob(bytes(300000), 'photo.jpg'), blob(bytes(1000, 5), 'ok.txt')], tamper });
  await until('the question', () => receiver.state === 'asking');
  await receiver.accept();
  await until('both settled', () => sender.state === 'failed' && receiver.state === 'failed');
  assert.equal(receiver.received[0], null);
  assert.match(receiver.outcome[0], /the SHA-256 of bytes 0\u2013\d+ does not match/);
  assert.equal(sender.outcome[0], receiver.outcome[0]);
  assert.equal(receiver.outcome[1], 'verified');
  assert.match(sender.error, /1 of 2 files did not arrive intact/);
});

/**
 * A receiver facing a hand-written sender: `raw(message)` sends a control
 * message (an object) or bytes. Accepted when `accept` (after the offer of
 * one file of `size` bytes).
 */
async function hostileSender(size, accept = true) {
  const receiver = new Incoming({ store: memoryStore() });
  const [a, b] = channelPair();
  receiver.attach(b);
  a.onmessage = () => {};
  const raw = (m) => a.send(m instanceof Uint8Array ? m : JSON.stringify(m));
  raw({ t: 'offer', files: [{ name: 'x', size }] });
  if (accept) {
    await until('the question', () => receiver.state === 'asking');
    await receiver.accept();
  }
  return { receiver, raw };
}

test('a sender that ends a file early or sends more than it offered is refused', async () => {
  const { receiver, raw } = await hostileSender(10);
  raw({ t: 'file', index: 0, offset: 0 });
  raw(new Uint8Array(4));
  raw({ t: 'end', index: 0, sha256: '0'.repeat(64) });
  await until('failed', () => receiver.state === 'failed');
  assert.equal(receiver.outcome[0], 'truncated: 4 of 10 bytes');
  assert.equal(receiver.received[0], null);

  const { receiver: greedy, raw: send } = await hostileSender(10);
  send({ t: 'file', index: 0, offset: 0 });
  send(new Uint8Array(11));
  await until('failed', () => greedy.state === 'failed');
  assert.match(greedy.error, /longer than offered/);
});

test('bytes before Accept end the transfer', async () => {
  const { receiver, raw } = await hostileSender(10, false);
  raw(new Uint8Array(10));
  await until('failed', () => receiver.state === 'failed');
  assert.match(receiver.error, /before a file|before Accept/);
});

test('a store that cannot hold the files refuses them with a reason instead of failing later', async () => {
  const { sender, receiver } = ends({ files: [blob(bytes(2000), 'a.bin')], limit: 1000 });
  await until('the question', () => receiver.state === 'asking');
  await receiver.accept();
  assert.equal(receiver.state, 'failed');
  assert.match(receiver.error, /more than the 1 KB it can hold/);
  // The sender is told why, not that someone cancelled.
  await until('the sender knows', () => sender.state !== 'asking');
  assert.equal(sender.state, 'failed');
  assert.match(sender.error, /^the receiver stopped: this browser keeps received files in memory/);
});

test('a corrupted block far from the end of a big file fails that file at once, without a hang', async () => {
  let flipped = false;
  const tamper = (buffer) => {
    if (!flipped) {
      flipped = true;
      new Uint8Array(buffer)[10] ^= 1;
    }
    return buffer;
  };
  const { sender, receiver } = ends({ files: [blob(bytes(40 * 1024 * 1024), 'big.bin'), blob(bytes(100, 7), 'after.txt')], tamper });
  await until('the question', () => receiver.state === 'asking');
  await receiver.accept();
  await until('both settled', () => sender.state === 'failed' && receiver.state === 'failed', 20000);
  assert.match(sender.outcome[0], /bytes 0\u2013\d+ does not match/);
  assert.equal(receiver.outcome[1], 'verified', 'the next file still came');
  assert.ok(sender.sent[0] < 30 * 1024 * 1024, `the sender went on sending the bad file (${sender.sent[0]})`);
});

test('a file verified just before a drop is not failed by the resume', async () => {
  let lost = false;
  const drop = (text) => {
    if (!lost && text.includes('"verified"')) {
      lost = true;
      return true;
    }
    return false;
  };
  const store = watchedStore();
  const sender = new Outgoing({ files: [blob(bytes(10, 3), 'first.txt'), blob(bytes(12 * 1024 * 1024, 4), 'second.bin')] });
  const receiver = new Incoming({ store });
  const [a, b] = channelPair(undefined, drop);
  receiver.attach(b);
  sender.attach(a, 64 * 1024);
  await until('the question', () => receiver.state === 'asking');
  await receiver.accept();
  await until('into the second file', () => receiver.bytes.done > 5 * 1024 * 1024);
  assert.equal(sender.outcome[0], null, 'the verified message got through');
  a.close();
  await until('interrupted', () => sender.state === 'interrupted' && receiver.state === 'interrupted');
  const [a2, b2] = channelPair();
  receiver.attach(b2);
  sender.attach(a2, 64 * 1024);
  await until('both done', () => sender.state === 'done' && receiver.state === 'done');
  assert.deepEqual(sender.outcome, ['verified', 'verified']);
});

test('a sender that skips a block, or sends a piece across blocks, gets no verified file', async () => {
  for (const [what, pieces, blocks] of [
    ['no block message', [10], false],
    ['a piece across a block', [3 * 1024 * 1024, 2 * 1024 * 1024], false],
  ]) {
    const size = pieces.reduce((n, p) => n + p, 0);
    const { receiver, raw } = await hostileSender(size);
    raw({ t: 'file', index: 0, offset: 0 });
    for (const p of pieces) raw(new Uint8Array(p));
    if (!blocks) raw({ t: 'end', index: 0, sha256: sha(new Uint8Array(0)) });
    await until(`failed (${what})`, () => receiver.state === 'failed');
    assert.equal(receiver.received[0], null, what);
  }
});
