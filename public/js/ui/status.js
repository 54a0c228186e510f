// The status line (<p id="status" role="status">) and the buttons or link
// that can follow a sentence ("Call without camera", "Trust this server").

/**
 * @param {HTMLElement} textEl   the live region
 * @param {HTMLElement} actionsEl  holds buttons and links for the sentence
 * @param {(value: unknown) => void} onAction  called with the pressed button's value
 */
export function createStatus(textEl, actionsEl, onAction) {
  let currentKey = null;

  function show(text, { key = null, actions = [], link = null } = {}) {
    currentKey = key;
    textEl.textContent = text;
    actionsEl.replaceChildren();
    for (const action of actions) {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = action.label;
      button.addEventListener('click', () => onAction(action.value));
      actionsEl.append(button);
    }
    if (link) {
      const a = document.createElement('a');
      a.href = link.href;
      a.textContent = link.text;
      actionsEl.append(a);
    }
    actionsEl.hidden = actionsEl.childElementCount === 0;
  }

  return {
    show,
    /** Clears the line if it still shows the sentence shown with `key`. */
    clear(key) {
      if (currentKey === key) show('');
    },
  };
}
