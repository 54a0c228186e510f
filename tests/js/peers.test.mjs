import test from 'node:test';
import assert from 'node:assert/strict';
import { applyPeerMessage, findPeer, withLabels } from '../../public/js/logic/peers.js';

const apply = (messages, selfId) =>
  messages.reduce((peers, data) => applyPeerMessage(peers, data, selfId), []);

test('newcomers are listed sorted by name', () => {
  const peers = apply([
    { id: 'c', name: 'Cleo' },
    { id: 'a', name: 'amber Otter' },
    { id: 'b', name: 'Bram' },
  ]);
  assert.deepEqual(peers.map((p) => p.name), ['amber Otter', 'Bram', 'Cleo']);
});

test('a rename replaces the entry and re-sorts', () => {
  const peers = apply([
    { id: 'a', name: 'Ann' },
    { id: 'b', name: 'Bob' },
    { id: 'a', name: 'Zed' },
  ]);
  assert.deepEqual(peers, [
    { id: 'b', name: 'Bob', live: false },
    { id: 'a', name: 'Zed', live: false },
  ]);
});

test('remove deletes the peer; removing an unknown id changes nothing', () => {
  const before = apply([{ id: 'a', name: 'Ann' }, { id: 'b', name: 'Bob' }]);
  const after = applyPeerMessage(before, { id: 'a', name: 'Ann', remove: true });
  assert.deepEqual(after, [{ id: 'b', name: 'Bob', live: false }]);
  assert.equal(applyPeerMessage(after, { id: 'zz', name: 'X', remove: true }), after);
});

test('equal names keep a stable order by id', () => {
  const peers = apply([
    { id: '2', name: 'Sam' },
    { id: '1', name: 'Sam' },
  ]);
  assert.deepEqual(peers.map((p) => p.id), ['1', '2']);
});

test('malformed messages and our own id are ignored', () => {
  const start = apply([{ id: 'a', name: 'Ann' }]);
  for (const bad of [null, 'x', [], {}, { id: 5, name: 'X' }, { id: 'b' }, { id: '', name: 'E' }]) {
    assert.equal(applyPeerMessage(start, bad, 'me'), start, JSON.stringify(bad));
  }
  assert.equal(applyPeerMessage(start, { id: 'me', name: 'Me' }, 'me'), start);
});

test('the reducer does not change its input', () => {
  const start = apply([{ id: 'a', name: 'Ann' }]);
  const copy = structuredClone(start);
  applyPeerMessage(start, { id: 'b', name: 'Bob' });
  applyPeerMessage(start, { id: 'a', remove: true });
  assert.deepEqual(start, copy);
  assert.deepEqual(findPeer(start, 'a'), { id: 'a', name: 'Ann', live: false });
  assert.equal(findPeer(start, 'b'), undefined);
});

test('the live flag follows the latest announcement', () => {
  const live = apply([{ id: 'a', name: 'Ann', live: true }]);
  assert.equal(findPeer(live, 'a').live, true);
  const off = applyPeerMessage(live, { id: 'a', name: 'Ann' });
  assert.equal(findPeer(off, 'a').live, false, 'an announcement without live means off air');
  assert.equal(findPeer(apply([{ id: 'a', name: 'A', live: 'yes' }]), 'a').live, false);
});

test('a WHIP stream is listed as a stream, not a device', () => {
  const list = applyPeerMessage([], { id: 's', name: 'Cam', live: true, via: 'appliance', kind: 'whip' });
  assert.deepEqual(list, [{ id: 's', name: 'Cam', live: true, stream: true }]);
  assert.deepEqual(applyPeerMessage([], { id: 'd', name: 'Ann', live: true, via: 'appliance' }), [
    { id: 'd', name: 'Ann', live: true },
  ]);
});

test('two peers with the same name are told apart, the same way everywhere', () => {
  const peers = [
    { id: 'ab12cd34-0000-4000-8000-000000000001', name: 'iPhone', live: false },
    { id: 'ff00ee11-0000-4000-8000-000000000002', name: 'iphone', live: false },
    { id: '12345678-0000-4000-8000-000000000003', name: 'Laptop', live: false },
  ];
  const labels = withLabels(peers).map((p) => p.label);
  assert.deepEqual(labels, ['iPhone \u00b7 ab12', 'iphone \u00b7 ff00', 'Laptop']);
  assert.equal(withLabels(peers)[0].name, 'iPhone', 'the name itself is kept');
  assert.deepEqual(withLabels([]), []);
});

test('a device back on a new connection (was) replaces its old entry, listed once', () => {
  const peers = apply([
    { id: 'a', name: 'Ann' },
    { id: 'b', name: 'Bob' },
    { id: 'b2', name: 'Bob', was: 'b' },
    // The old connection's removal comes after: nothing left to remove.
    { id: 'b', name: 'Bob', remove: true },
  ]);
  assert.deepEqual(peers, [
    { id: 'a', name: 'Ann', live: false },
    { id: 'b2', name: 'Bob', live: false },
  ]);
  // A `was` naming nobody known adds the peer; a non-string one is ignored.
  assert.deepEqual(apply([{ id: 'c', name: 'Cy', was: 'gone' }]).map((p) => p.id), ['c']);
  assert.deepEqual(apply([{ id: 'a', name: 'Ann' }, { id: 'c', name: 'Cy', was: 7 }]).map((p) => p.id), ['a', 'c']);
});
