import test from 'node:test';
import assert from 'node:assert/strict';

import { MAX_MISSED, addMissed, callBackTarget, parseMissed } from '../../public/js/logic/missed.js';

test('the newest missed call comes first and the list is bounded', () => {
  let list = [];
  for (let i = 0; i < MAX_MISSED + 3; i++) list = addMissed(list, { id: `p${i}`, name: `N${i}` }, 1000 + i);
  assert.equal(list.length, MAX_MISSED);
  assert.deepEqual(list[0], { id: `p${MAX_MISSED + 2}`, name: `N${MAX_MISSED + 2}`, at: 1000 + MAX_MISSED + 2 });
});

test('a stored list survives a round trip, and garbage is dropped', () => {
  const list = addMissed([], { id: 'a', name: 'Ann' }, 5);
  assert.deepEqual(parseMissed(JSON.stringify(list)), list);
  for (const bad of ['', 'not json', '{}', 'null', '[1,"x",null]', '[{"id":1,"name":"x","at":2}]']) {
    assert.deepEqual(parseMissed(bad), [], bad);
  }
  assert.deepEqual(parseMissed('[{"id":"a","name":"Ann","at":1},{"id":"b"}]'), [{ id: 'a', name: 'Ann', at: 1 }]);
});

test('call back finds the same connection, else the only device with that name', () => {
  const entry = { id: 'old', name: 'Ann', at: 1 };
  const ann = { id: 'old', name: 'Ann (phone)' };
  assert.equal(callBackTarget(entry, [ann]), ann, 'same id even after a rename');
  const reloaded = { id: 'new', name: 'Ann' };
  assert.equal(callBackTarget(entry, [reloaded, { id: 'b', name: 'Bob' }]), reloaded);
  assert.equal(callBackTarget(entry, [reloaded, { id: 'x', name: 'Ann' }]), null, 'two Anns: cannot tell');
  assert.equal(callBackTarget(entry, []), null);
});
