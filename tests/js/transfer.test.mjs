import test from 'node:test';
import assert from 'node:assert/strict';

import {
  ACK_EVERY,
  BUFFER_HIGH,
  DEFAULT_PIECE,
  MAX_PIECE,
  WINDOW,
  canQueue,
  createReceiver,
  hex,
  offerText,
  sizeText,
  timeLeftText,
  offerMessage,
  parseControl,
  freeName,
  pieceSize,
  progress,
  safeFileName,
  sendPlan,
  speedText,
} from '../../public/js/logic/transfer.js';

test('the piece size fits what the connection allows, within what every engine takes', () => {
  assert.equal(pieceSize(262144), MAX_PIECE); // Chromium
  assert.equal(pieceSize(1073741823), MAX_PIECE); // Firefox
  assert.equal(pieceSize(Infinity), MAX_PIECE);
  assert.equal(pieceSize(65536), 65536);
  assert.equal(pieceSize(100000), 65536);
  assert.equal(pieceSize(16384), 16384);
  assert.equal(pieceSize(9000), 8192);
  for (const unknown of [0, undefined, null, NaN, -1]) assert.equal(pieceSize(unknown), DEFAULT_PIECE, String(unknown));
});

test('flow control stops queueing at the high mark, and past a window the receiver has not acknowledged', () => {
  assert.equal(canQueue(0), true);
  assert.equal(canQueue(BUFFER_HIGH - 1), true);
  assert.equal(canQueue(BUFFER_HIGH), false);
  assert.equal(canQueue(0, WINDOW - 1), true);
  assert.equal(canQueue(0, WINDOW), false);
});

test('sizes, offers and time left read as a person says them', () => {
  assert.equal(sizeText(52_400_000), '52.4 MB');
  assert.equal(sizeText(1), '1 byte');
  assert.equal(sizeText(2_500_000_000), '2.5 GB');
  assert.equal(offerText('Alice', [{ name: 'a', size: 1e6 }, { name: 'b', size: 5e5 }]), 'Alice wants to send you 2 files (1.5 MB)');
  assert.equal(offerText('Bob', [{ name: 'cat.jpg', size: 2000 }]), 'Bob wants to send you cat.jpg (2 KB)');
  assert.equal(timeLeftText(null), '');
  assert.equal(timeLeftText(40), '40 s left');
  assert.equal(timeLeftText(125), '2 min 5 s left');
  assert.equal(hex(new Uint8Array([0, 15, 255])), '000fff');
});

test('file names from the other side cannot leave the download folder', () => {
  assert.equal(safeFileName('../../etc/passwd'), 'passwd');
  assert.equal(safeFileName('C:\\Users\\x\\photo.jpg'), 'photo.jpg');
  assert.equal(safeFileName('a\u0000b\nc.txt'), 'abc.txt');
  for (const empty of ['', '..', '.', '/', '   ']) assert.equal(safeFileName(empty), 'file', JSON.stringify(empty));
  assert.equal(safeFileName('x'.repeat(500)).length, 200);
});

test('control messages are checked, and each bad one says what was wrong', () => {
  const offer = offerMessage([{ name: 'a.jpg', size: 10, type: 'image/jpeg' }], 'hi');
  assert.deepEqual(parseControl(JSON.stringify(offer)), {
    t: 'offer',
    files: [{ name: 'a.jpg', size: 10, type: 'image/jpeg' }],
    text: 'hi',
    resume: false,
  });
  const again = offerMessage([{ name: 'a.jpg', size: 10 }], null, true);
  assert.equal(parseControl(JSON.stringify(again)).resume, true);
  assert.deepEqual(parseControl('{"t":"ack","index":1,"offset":4096}'), { t: 'ack', index: 1, offset: 4096 });
  // A cancel may say why the other side failed; a long reason is cut.
  assert.deepEqual(parseControl('{"t":"cancel"}'), { t: 'cancel' });
  assert.deepEqual(parseControl('{"t":"cancel","reason":"disk full"}'), { t: 'cancel', reason: 'disk full' });
  assert.equal(parseControl(JSON.stringify({ t: 'cancel', reason: 'x'.repeat(5000) })).reason.length, 300);
  for (const [text, why] of [
    ['not json', 'not JSON'],
    ['[]', 'no type'],
    ['{"t":"offer","files":[]}', 'nothing offered'],
    ['{"t":"offer","files":[{"name":"a","size":-1}]}', 'a file needs a name and a size'],
    ['{"t":"offer","files":[{"name":"a","size":1e300}]}', 'a file needs a name and a size'],
    ['{"t":"accept","from":[0,"x"]}', 'accept needs an offset per file'],
    ['{"t":"file","index":-1,"offset":0}', 'file needs an index and an offset'],
    ['{"t":"end","index":0,"sha256":"xyz"}', 'end needs an index and a SHA-256'],
    ['{"t":"block","index":0,"sha256":"' + 'a'.repeat(64) + '"}', 'block needs an index, an offset and a SHA-256'],
    ['{"t":"launch"}', 'unknown message "launch"'],
  ]) {
    assert.deepEqual(parseControl(text), { t: 'invalid', why }, text);
  }
});

const files = [
  { name: 'big.mov', size: ACK_EVERY * 2 + 100 },
  { name: 'small.txt', size: 10 },
];

/** Feeds `length`-byte pieces of file `index` into `r`, writing (acking) each at once. */
function feed(r, index, from, to, length, sent = []) {
  for (let at = from; at < to; at += length) {
    const n = Math.min(length, to - at);
    const piece = r.onPiece(n);
    assert.equal(piece.at, at);
    if (piece.ack) sent.push(r.acked(index, at + n));
  }
  return sent;
}

test('pieces are accounted per file and acknowledged every few MiB and at the end', () => {
  const r = createReceiver(files);
  assert.deepEqual(r.accept(), { t: 'accept', from: [0, 0] });
  assert.deepEqual(r.onFile(0, 0), { ok: true });
  const acks = feed(r, 0, 0, files[0].size, 256 * 1024);
  assert.deepEqual(
    acks.map((a) => a.offset),
    [ACK_EVERY, ACK_EVERY * 2, files[0].size],
  );
  assert.deepEqual(r.onEnd(0, 'a'.repeat(64), 'a'.repeat(64)), { t: 'verified', index: 0 });
  assert.equal(r.complete, false);
  r.onFile(1, 0);
  feed(r, 1, 0, 10, 4);
  assert.deepEqual(r.onEnd(1, 'b'.repeat(64), 'b'.repeat(64)), { t: 'verified', index: 1 });
  assert.equal(r.complete, true);
  assert.deepEqual(r.bytes, { done: files[0].size + 10, total: files[0].size + 10 });
});

test('more bytes than offered, bytes before a file, or a file that is not there are errors', () => {
  const r = createReceiver(files);
  assert.ok(r.onPiece(10).error.includes('before any file'));
  assert.ok(r.onFile(5, 0).error.includes('no file 5'));
  r.onFile(1, 0);
  assert.ok(r.onPiece(11).error.includes('longer than offered'));
});

test('a hash mismatch or a truncated file is never complete, and a mismatch starts over', () => {
  const r = createReceiver(files);
  r.onFile(1, 0);
  feed(r, 1, 0, 6, 6);
  assert.deepEqual(r.onEnd(1, 'b'.repeat(64), 'b'.repeat(64)), {
    t: 'failed',
    index: 1,
    reason: 'truncated: 6 of 10 bytes',
  });
  // Sent again from the last acknowledged byte (none yet, for 6 bytes).
  const from = r.have()[1];
  assert.deepEqual(r.onFile(1, from), { ok: true });
  feed(r, 1, from, 10, 4);
  const bad = r.onEnd(1, 'b'.repeat(64), 'c'.repeat(64));
  assert.deepEqual(bad, { t: 'failed', index: 1, reason: 'the SHA-256 does not match' });
  assert.equal(r.complete, false);
  assert.deepEqual(r.have(), [0, 0], 'nothing of a corrupt file is kept for resuming');
});

test('a resume goes on from what was acknowledged, not from what merely arrived', () => {
  const r = createReceiver(files);
  r.onFile(0, 0);
  // One ack's worth written and acknowledged, then half a MiB more arrived
  // but was not yet written when the connection dropped.
  feed(r, 0, 0, ACK_EVERY, 256 * 1024);
  r.onPiece(512 * 1024);
  assert.deepEqual(r.have(), [ACK_EVERY, 0]);

  // The new connection: the same files offered again.
  const again = createReceiver(files, r.have());
  const accept = again.accept();
  assert.deepEqual(accept, { t: 'accept', from: [ACK_EVERY, 0] });
  const plan = sendPlan(files, accept.from);
  assert.deepEqual(plan[0], { index: 0, offset: ACK_EVERY, size: files[0].size });
  // The sender must resume exactly there.
  assert.ok(again.onFile(0, 0).error.includes('resumed at 0'));
  assert.deepEqual(again.onFile(0, ACK_EVERY), { ok: true });
  feed(again, 0, ACK_EVERY, files[0].size, 256 * 1024);
  assert.equal(again.onEnd(0, 'a'.repeat(64), 'a'.repeat(64)).t, 'verified');
});

test('the sender never skips data a receiver claims to have beyond the file, or mid-block', () => {
  assert.deepEqual(sendPlan(files, [files[0].size + 1, 'x']), [
    { index: 0, offset: 0, size: files[0].size },
    { index: 1, offset: 0, size: 10 },
  ]);
  assert.deepEqual(sendPlan(files, [ACK_EVERY + 1, 10]), [
    { index: 0, offset: 0, size: files[0].size },
    { index: 1, offset: 10, size: 10 },
  ]);
  assert.deepEqual(createReceiver(files, [files[0].size * 2, 4]).have(), [0, 4]);
});

test('progress: percent, speed over the last seconds, and time left', () => {
  assert.deepEqual(progress([], 100), { percent: 0, speed: 0, secondsLeft: null });
  const samples = [
    [0, 0],
    [1000, 10e6],
    [4000, 40e6],
    [5000, 50e6],
  ];
  const p = progress(samples, 100e6);
  assert.equal(p.percent, 50);
  assert.equal(p.speed, 10e6);
  assert.equal(p.secondsLeft, 5);
  assert.equal(speedText(p.speed), '10.0 MB/s');
  assert.equal(speedText(980e3), '980 KB/s');
});

test('a received file gets the first free name, numbered before its extension, whatever the case', () => {
  const taken = new Set(['photo.jpg', 'photo (1).jpg', 'readme']);
  assert.equal(freeName('Photo.JPG', taken), 'Photo (2).JPG');
  assert.equal(freeName('photo.jpg', taken), 'photo (3).jpg');
  assert.equal(freeName('readme', taken), 'readme (1)');
  assert.equal(freeName('.profile', taken), '.profile');
  assert.equal(freeName('.profile', taken), '.profile (1)');
  assert.equal(freeName('archive.tar.gz', taken), 'archive.tar.gz');
  assert.equal(freeName('archive.tar.gz', taken), 'archive.tar (1).gz');
  assert.ok(taken.has('photo (3).jpg'), 'the chosen name is not taken for the next');
});
