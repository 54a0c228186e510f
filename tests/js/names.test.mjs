import test from 'node:test';
import assert from 'node:assert/strict';
import { cleanName, initials, randomName, MAX_NAME_CHARS } from '../../public/js/logic/names.js';

test('names are cleaned as the server cleans them', () => {
  const table = [
    ['Ann', 'Ann'],
    ['  Ann  ', 'Ann'],
    ['', 'Anonymous'],
    ['   ', 'Anonymous'],
    ['\t\n', 'Anonymous'],
    [undefined, 'Anonymous'],
    [42, 'Anonymous'],
    ['A\u0000n\u0007n', 'Ann'],
    ['A\u007fnn\u0085', 'Ann'],
    ['\u202Egnp.exe', 'gnp.exe'],
    ['a\u200Eb\u200Fc\u2066d\u2069', 'abcd'],
    ['\u00a0Ann\u3000', 'Ann'],
    ['Zoë 🦊', 'Zoë 🦊'],
  ];
  for (const [raw, want] of table) {
    assert.equal(cleanName(raw), want, JSON.stringify(raw));
  }
});

test('names keep at most 64 characters, counting code points', () => {
  assert.equal(cleanName('x'.repeat(100)), 'x'.repeat(MAX_NAME_CHARS));
  const foxes = '🦊'.repeat(70);
  assert.equal(Array.from(cleanName(foxes)).length, 64);
  // A cut that ends in spaces is trimmed again, like the server's trim_end.
  assert.equal(cleanName(`${'a'.repeat(63)}  b`), 'a'.repeat(63));
});

test('a byte-order mark is kept: it is not White_Space in Rust', () => {
  assert.equal(cleanName('\uFEFFAnn'), '\uFEFFAnn');
});

test('random names are two capitalised words', () => {
  for (const r of [0, 0.25, 0.5, 0.999999]) {
    const name = randomName(() => r);
    assert.match(name, /^[A-Z][a-z]+ [A-Z][a-z]+$/);
    assert.equal(cleanName(name), name);
  }
  assert.equal(randomName(() => 0), 'Amber Otter');
  assert.notEqual(randomName(() => 0), randomName(() => 0.9));
});

test('avatars show up to two initials', () => {
  assert.equal(initials('Ada Lovelace'), 'AL');
  assert.equal(initials('grace  brewster murray'), 'GB');
  assert.equal(initials('Émile'), 'É');
  assert.equal(initials('   '), '?');
});
