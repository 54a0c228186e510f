// The "Your name" field: reports a cleaned name after typing pauses
// (300 ms), and at once on change or Enter.

import { cleanName } from '../logic/names.js';

/** Pause in typing after which the name is sent. */
const DEBOUNCE_MS = 300;

/**
 * @param {HTMLInputElement} input
 * @param {string} initial  the cleaned name to show
 * @param {(name: string) => void} onName  called with each new cleaned name
 */
export function createNameField(input, initial, onName) {
  let last = initial;
  let timer = null;
  input.value = initial;

  function commit() {
    clearTimeout(timer);
    timer = null;
    const name = cleanName(input.value);
    if (name !== last) {
      last = name;
      onName(name);
    }
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(commit, DEBOUNCE_MS);
  });
  // The field is never rewritten while the page runs: a person (or a test
  // driver) may clear it and type again, and text put back in between would
  // mix with what they type. An emptied field shows the placeholder instead.
  input.addEventListener('change', commit);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      commit();
    }
  });
}
