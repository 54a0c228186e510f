import test from 'node:test';
import assert from 'node:assert/strict';

import {
  countText,
  focusOf,
  gridFor,
  joinMessage,
  plan,
  publishMessage,
  readMeeting,
  deviceSendsSimulcast,
  layersFor,
  simulcastLayers,
  summaryText,
  tilesChanged,
  updateMessage,
  viewMessage,
} from '../../public/js/logic/meeting.js';

const member = (id, extra = {}) => ({ id, muted: false, camera: true, screen: false, publishing: true, ...extra });

test('the server state is read defensively', () => {
  assert.equal(readMeeting(null), null);
  assert.equal(readMeeting({ members: 'x' }), null);
  const state = readMeeting({
    members: [{ id: 'a', muted: true, camera: false, publishing: true }, { id: '' }, 7, { id: 'b', muted: 'yes' }],
    speaker: 'nobody',
    max: 16,
  });
  assert.deepEqual(state.members, [
    { id: 'a', muted: true, camera: false, screen: false, publishing: true },
    { id: 'b', muted: false, camera: true, screen: false, publishing: false },
  ]);
  assert.equal(state.speaker, null, 'a speaker who is no member is ignored');
  assert.equal(state.max, 16);
  assert.equal(readMeeting({ members: [member('a')], speaker: 'a', max: -1 }).speaker, 'a');
  assert.equal(readMeeting({ members: [], max: 'lots' }).max, null);
});

test('subscriptions follow the members who publish, never ourselves', () => {
  const members = [member('me'), member('a'), member('b', { publishing: false }), member('c')];
  assert.deepEqual(plan(members, 'me', []), { open: ['a', 'c'], close: [] });
  assert.deepEqual(plan(members, 'me', ['a', 'gone']), { open: ['c'], close: ['gone'] });
  // b starts publishing; a leaves.
  const later = [member('me'), member('b'), member('c')];
  assert.deepEqual(plan(later, 'me', ['a', 'c']), { open: ['b'], close: ['a'] });
  assert.deepEqual(plan([], 'me', ['a']), { open: [], close: ['a'] }, 'the meeting ended');
});

const cr = ({ columns, rows }) => ({ columns, rows });

test('the grid gives the largest tiles that fit', () => {
  assert.equal(gridFor(2, 1100, 500).tileWidth, 550);
  assert.deepEqual(cr(gridFor(1, 1000, 600)), { columns: 1, rows: 1 });
  assert.deepEqual(cr(gridFor(2, 1100, 500)), { columns: 2, rows: 1 });
  assert.deepEqual(cr(gridFor(2, 1000, 800)), { columns: 1, rows: 2 }, 'two stacked are larger there');
  assert.deepEqual(cr(gridFor(4, 1000, 600)), { columns: 2, rows: 2 });
  assert.deepEqual(cr(gridFor(16, 1600, 900)), { columns: 4, rows: 4 });
  // A tall phone stacks them.
  assert.deepEqual(cr(gridFor(3, 390, 700)), { columns: 1, rows: 3 });
  for (let n = 1; n <= 16; n++) {
    const { columns, rows } = gridFor(n, 1280, 720);
    assert.ok(columns * rows >= n && columns * (rows - 1) < n, `${n}: ${columns}×${rows}`);
  }
});

test('the large tile: pinned, else a shared screen, else on a phone the speaker', () => {
  const members = [member('me'), member('a'), member('b')];
  assert.equal(focusOf({ members, selfId: 'me', pinned: null, speaker: 'b', phone: false }), null, 'a laptop shows the grid');
  assert.equal(focusOf({ members, selfId: 'me', pinned: null, speaker: 'b', phone: true }), 'b');
  assert.equal(focusOf({ members, selfId: 'me', pinned: null, speaker: 'me', phone: true }), 'a', 'never ourselves big on a phone');
  assert.equal(focusOf({ members, selfId: 'me', pinned: 'a', speaker: 'b', phone: true }), 'a');
  assert.equal(focusOf({ members, selfId: 'me', pinned: 'gone', speaker: null, phone: false }), null, 'a pin on someone who left');
  const sharing = [member('me'), member('a'), member('b', { screen: true })];
  assert.equal(focusOf({ members: sharing, selfId: 'me', pinned: null, speaker: 'a', phone: false }), 'b');
  assert.equal(focusOf({ members: [member('me')], selfId: 'me', pinned: null, speaker: null, phone: true }), null);
});

test('messages and sentences', () => {
  assert.deepEqual(joinMessage({ muted: true }), { type: 'meeting', data: { action: 'join', muted: true } });
  assert.deepEqual(updateMessage({ camera: false }), { type: 'meeting', data: { action: 'update', camera: false } });
  assert.deepEqual(publishMessage('v=0'), { type: 'publish', data: { sdp: 'v=0', meeting: true } });
  assert.equal(summaryText([]), '');
  assert.equal(summaryText(['Alice']), 'Alice is in a meeting here.');
  assert.equal(summaryText(['Alice', 'Bob', 'Carol']), 'Alice, Bob and Carol are in a meeting here.');
  assert.equal(countText(1), 'Only you so far');
  assert.equal(countText(3), '3 people');
});

test('tile widths are told again only when a layer could change', () => {
  assert.equal(tilesChanged({}, { a: 400 }), true);
  assert.equal(tilesChanged({ a: 400 }, { a: 420 }), false, 'a few pixels choose nothing new');
  assert.equal(tilesChanged({ a: 400 }, { a: 200 }), true);
  assert.equal(tilesChanged({ a: 400 }, { b: 400 }), true, 'someone else');
  assert.equal(tilesChanged({ a: 400, b: 300 }, { a: 400 }), true, 'someone gone');
  assert.deepEqual(viewMessage({ a: 640 }), { type: 'meeting', data: { action: 'view', tiles: { a: 640 } } });
});

test('simulcast layers fit the camera: three at 720p, two at 480p, none below', () => {
  const widths = (w) => simulcastLayers(w).map((l) => Math.round(w / (l.scaleResolutionDownBy || 1)));
  assert.deepEqual(widths(1280), [320, 640, 1280]);
  assert.deepEqual(widths(640), [320, 640]);
  assert.deepEqual(widths(320), []);
  for (const w of [1280, 640]) {
    const rids = simulcastLayers(w).map((l) => l.rid);
    assert.equal(new Set(rids).size, rids.length, 'distinct rids');
    assert.equal(simulcastLayers(w).at(-1).scaleResolutionDownBy, undefined, 'the top is full size');
  }
});

test('which devices send layers, and the encodings a track gets', () => {
  const device = (coarse, width) => ({ matchMedia: () => ({ matches: coarse }), screen: { width } });
  assert.equal(deviceSendsSimulcast(device(false, 1440)), true, 'a laptop');
  assert.equal(deviceSendsSimulcast(device(true, 390)), false, 'a phone');
  assert.equal(deviceSendsSimulcast(device(true, 1366)), true, 'a touch laptop');
  const track = (width) => ({ getSettings: () => ({ width }) });
  assert.equal(layersFor(track(1280), true).sendEncodings.length, 3);
  assert.deepEqual(layersFor(track(1280), false), {});
  assert.deepEqual(layersFor(track(320), true), {}, 'too small for layers');
  assert.deepEqual(layersFor(null, true), {});
});
