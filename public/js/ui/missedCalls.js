// The missed-call list under the peer list: who called, when, and a
// "Call back" button while that person is here and no call is running.

/**
 * @param {object} els  {root, list, clear}
 * @param {object} handlers  {onCallBack(entry), onClear()}
 */
export function createMissedCalls(els, handlers) {
  els.clear.addEventListener('click', handlers.onClear);
  const time = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
  /** What the list shows now: rebuilt only when it changes, so focus and clicks stay put. */
  let shown = '';

  return {
    /**
     * @param {object} props  {entries, reachable(entry) → boolean, canCall}
     */
    render({ entries, reachable, canCall }) {
      els.root.hidden = entries.length === 0;
      const open = entries.map((entry) => canCall && reachable(entry));
      const key = JSON.stringify([entries, open]);
      if (key === shown) return;
      shown = key;
      const items = entries.map((entry, i) => {
        const li = document.createElement('li');
        li.className = 'missed-call';
        const who = document.createElement('span');
        who.className = 'missed-name';
        who.textContent = entry.name;
        const when = document.createElement('time');
        when.dateTime = new Date(entry.at).toISOString();
        when.textContent = time.format(entry.at);
        const back = document.createElement('button');
        back.type = 'button';
        back.textContent = 'Call back';
        back.setAttribute('aria-label', `Call ${entry.name} back`);
        back.disabled = !open[i];
        back.addEventListener('click', () => handlers.onCallBack(entry));
        li.append(who, when, back);
        return li;
      });
      els.list.replaceChildren(...items);
    },
  };
}
