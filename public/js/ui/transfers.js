// The transfers list (#transfers): for each transfer the question ("Alice
// wants to send you 3 files (52 MB)" with the names, Accept and Decline),
// then progress (per file and overall, percent, speed, time left, how it
// travels), Cancel, and at the end a Save link per file (or where it was
// saved, when received into a folder); a received text with Copy. Items are kept across renders so focus and links survive.

import { offerText, sizeText, speedText, timeLeftText } from '../logic/transfer.js';

const STATE_TEXT = {
  connecting: 'Connecting…',
  asking: 'Waiting for an answer…',
  interrupted: 'Connection lost; trying again…',
  declined: 'Declined',
  cancelled: 'Cancelled',
  failed: 'Failed',
  done: 'Done',
};

/**
 * @param {HTMLElement} root  the section, hidden while there is nothing to show
 * @param {HTMLElement} list  its <ul>
 * @param {{accept(id), acceptInto(id), decline(id), cancel(id), dismiss(id)}} on
 */
export function createTransferList(root, list, on) {
  /** id → {li, shape, parts} */
  const items = new Map();
  /** Questions already brought into view. */
  const asked = new Set();

  function button(text, label, onClick, className = '') {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    if (label) b.setAttribute('aria-label', label);
    if (className) b.className = className;
    b.addEventListener('click', onClick);
    return b;
  }

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /** What decides an item's structure; progress numbers are updated in place. */
  function shapeOf(t) {
    return [t.state, t.via, t.files.map((f) => `${f.outcome}:${Boolean(f.file)}`).join(','), t.error].join('|');
  }

  function build(t) {
    const li = el('li', 'transfer');
    li.dataset.transfer = t.id;
    li.dataset.state = t.state;
    li.dataset.direction = t.direction;
    const parts = {};
    const who = t.direction === 'out' ? `to ${t.peerName}` : `from ${t.peerName}`;

    if (t.direction === 'in' && t.text !== null && t.files.length === 0) {
      li.append(el('p', 'transfer-title', `${t.peerName} sent you a text`));
      const text = el('p', 'transfer-text', t.text);
      const copy = button('Copy', `Copy the text from ${t.peerName}`, async () => {
        try {
          await navigator.clipboard.writeText(t.text);
          copy.textContent = 'Copied';
        } catch {
          // Without clipboard access, select it so a long press copies it.
          getSelection().selectAllChildren(text);
        }
      });
      li.append(text, actions(copy, button('Dismiss', `Dismiss the text from ${t.peerName}`, () => on.dismiss(t.id), 'quiet')));
      return { li, parts };
    }

    const what = t.files.length === 1 ? t.files[0].name : `${t.files.length} files`;
    const size = sizeText(t.files.reduce((n, f) => n + f.size, 0));
    let title;
    if (t.direction === 'in') {
      title = t.state === 'asking' ? offerText(t.peerName, t.files) : `From ${t.peerName}: ${what} (${size})`;
    } else if (t.files.length === 0) {
      title = `Text to ${t.peerName}`;
    } else {
      title = `${t.state === 'done' ? 'Sent' : 'Sending'} ${what} (${size}) to ${t.peerName}`;
    }
    li.append(el('p', 'transfer-title', title));

    const files = el('ul', 'transfer-files');
    files.hidden = t.files.length === 0;
    files.setAttribute('aria-label', `Files ${who}`);
    for (const f of t.files) {
      const item = el('li', 'transfer-file');
      item.append(el('span', 'file-name', f.name), el('span', 'file-size', sizeText(f.size)));
      if (f.outcome === 'verified') {
        item.append(el('span', 'file-state ok', 'Verified'));
        if (f.file && t.savedIn) {
          item.append(el('span', 'file-saved', `Saved in ${t.savedIn} as ${f.file.name}`));
        } else if (f.file) {
          const a = el('a', 'save', `Save ${f.name}`);
          a.href = URL.createObjectURL(f.file);
          a.download = f.name;
          item.append(a);
        }
      } else if (f.outcome) {
        item.append(el('span', 'file-state bad', `Not saved: ${f.outcome}`));
      }
      files.append(item);
    }
    li.append(files);

    if (t.state === 'asking' && t.direction === 'in') {
      const row = [button('Accept', `Accept the files from ${t.peerName}`, () => on.accept(t.id), 'accept')];
      if (t.canPickFolder) {
        row.push(button('Save into a folder…', `Accept the files from ${t.peerName} into a folder`, () => on.acceptInto(t.id)));
      }
      row.push(button('Decline', `Decline the files from ${t.peerName}`, () => on.decline(t.id), 'danger'));
      li.append(actions(...row));
      return { li, parts };
    }

    // A text sent: the text itself, not a progress bar for nothing.
    const text = t.direction === 'out' && t.files.length === 0;
    if (text && t.text !== null) li.append(el('p', 'transfer-text', t.text));
    const bar = el('progress', 'transfer-progress');
    bar.max = 100;
    bar.setAttribute('aria-label', `Progress ${who}`);
    if (!text) parts.bar = bar;
    parts.numbers = el('p', 'transfer-numbers');
    const state = el('p', 'transfer-state');
    state.setAttribute('role', 'status');
    const stateText =
      t.state === 'sending' || t.state === 'receiving' ? '' : text && t.state === 'done' ? 'Sent' : STATE_TEXT[t.state] || '';
    state.textContent = [stateText, t.error].filter(Boolean).join(': ');
    const via = el('p', 'transfer-via', t.via === 'appliance' ? 'through the appliance' : t.via === 'direct' ? 'device to device' : '');
    if (text) li.append(via, state);
    else li.append(bar, parts.numbers, via, state);

    const active = ['connecting', 'asking', 'sending', 'receiving', 'interrupted'].includes(t.state);
    if (active) {
      const label = t.direction === 'out' ? `Cancel sending to ${t.peerName}` : `Cancel receiving from ${t.peerName}`;
      li.append(actions(button('Cancel', label, () => on.cancel(t.id), 'danger')));
    } else {
      const saves = t.savedIn ? [] : t.files.filter((f) => f.file);
      const row = [];
      if (saves.length > 1) {
        row.push(
          button('Save all', `Save all files from ${t.peerName}`, () => {
            for (const a of li.querySelectorAll('a.save')) a.click();
          }),
        );
      }
      row.push(button('Dismiss', `Dismiss the transfer ${who}`, () => on.dismiss(t.id), 'quiet'));
      li.append(actions(...row));
    }
    return { li, parts };
  }

  function actions(...buttons) {
    const div = el('div', 'actions');
    div.append(...buttons);
    return div;
  }

  function update(parts, t) {
    if (!parts.bar) return;
    parts.bar.value = t.percent;
    const numbers = [`${t.percent} %`, `${sizeText(t.done)} of ${sizeText(t.total)}`];
    if (t.speed > 0) numbers.push(speedText(t.speed));
    const left = timeLeftText(t.secondsLeft);
    if (left) numbers.push(left);
    const text = numbers.join(' \u00b7 ');
    if (parts.numbers.textContent !== text) parts.numbers.textContent = text;
  }

  return {
    render(transfers) {
      const ids = new Set(transfers.map((t) => t.id));
      for (const [id, item] of items) {
        if (!ids.has(id)) {
          for (const a of item.li.querySelectorAll('a.save')) URL.revokeObjectURL(a.href);
          item.li.remove();
          items.delete(id);
        }
      }
      transfers.forEach((t, i) => {
        let item = items.get(t.id);
        const shape = shapeOf(t);
        if (!item || item.shape !== shape) {
          const built = build(t);
          const focused = item && item.li.contains(document.activeElement);
          if (item) {
            for (const a of item.li.querySelectorAll('a.save')) URL.revokeObjectURL(a.href);
            item.li.replaceWith(built.li);
          }
          item = { ...built, shape };
          items.set(t.id, item);
          if (focused) {
            const target = item.li.querySelector('button, a');
            if (target) target.focus();
          }
        }
        update(item.parts, t);
        if (list.children[i] !== item.li) list.insertBefore(item.li, list.children[i] || null);
      });
      root.hidden = transfers.length === 0;
      // A new question is brought into view: on a phone scrolled down to
      // the devices, it would otherwise appear unseen above.
      for (const t of transfers) {
        if (t.direction === 'in' && t.state === 'asking' && !asked.has(t.id)) {
          asked.add(t.id);
          items.get(t.id).li.scrollIntoView({ block: 'nearest' });
        }
      }
      for (const id of asked) if (!ids.has(id)) asked.delete(id);
    },
  };
}
