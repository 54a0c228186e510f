import test from 'node:test';
import assert from 'node:assert/strict';
import { createSignalState } from '../../public/js/ui/signalState.js';

test('the first connection is "Connecting", only a lost one is "Reconnecting"', () => {
  const el = { textContent: '', dataset: {} };
  const state = createSignalState(el);
  state.render(false);
  assert.equal(el.textContent, 'Connecting to the server\u2026');
  assert.equal(el.dataset.connected, 'false');
  state.render(true);
  assert.equal(el.textContent, 'Connected');
  state.render(false);
  assert.equal(el.textContent, 'Reconnecting to the server\u2026');
});
