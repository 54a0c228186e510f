// The in-call chat: the message form and the log (#chat-log, role="log").

/** Older lines are dropped beyond this many. */
const MAX_LINES = 500;

/**
 * @param {object} els  {form, input, log}
 * @param {(text: string) => void} onSend
 */
export function createChat({ form, input, log }, onSend) {
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (text === '') return;
    input.value = '';
    onSend(text);
  });

  return {
    /** Adds "<sender>: <text>"; `own` marks the person's own messages. */
    add(sender, text, own) {
      const li = document.createElement('li');
      li.textContent = `${sender}: ${text}`;
      if (own) li.className = 'own';
      log.append(li);
      while (log.childElementCount > MAX_LINES) log.firstElementChild.remove();
      log.scrollTop = log.scrollHeight;
    },
    clear() {
      log.replaceChildren();
      input.value = '';
    },
  };
}
