import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bustedHref, reloadPlan } from '../../public/js/logic/reload.js';

test('only stylesheet changes are swapped in place', () => {
  assert.equal(reloadPlan(['style.css']), 'css');
  assert.equal(reloadPlan(['a.css', 'themes/dark.css']), 'css');
  assert.equal(reloadPlan(['style.css', 'js/main.js']), 'reload');
  assert.equal(reloadPlan(['index.html']), 'reload');
  assert.equal(reloadPlan([]), 'reload');
  assert.equal(reloadPlan(undefined), 'reload');
  assert.equal(reloadPlan('style.css'), 'reload');
});

test('stylesheet URLs get the new version', () => {
  const base = 'https://box.local:8443/';
  assert.equal(bustedHref('/style.css', 'abc', base), '/style.css?v=abc');
  assert.equal(bustedHref('/style.css?v=old', 'new', base), '/style.css?v=new');
  assert.equal(bustedHref('https://box.local:8443/a/b.css?x=1', 'z', base), '/a/b.css?x=1&v=z');
});
