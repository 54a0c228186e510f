// The list of other devices (#peers): a Call button for each, and for a
// peer who is live a badge and a Watch button. When the list is empty,
// #peers-empty explains how to join from another device; when it is not,
// #invite keeps the same link and QR code one click away.

import { initials } from '../logic/names.js';

/**
 * @param {object} els  {list, empty, emptyText, joinUrl, qr, invite, inviteUrl, inviteQr}
 * @param {object} on  {call(peer), watch(peer)}
 */
export function createPeerList(els, on) {
  const { list, empty, invite } = els;
  let shared = null;

  /** id -> {li, avatar, name, badge, watch, button, peer}; items are reused so focus survives updates. */
  const items = new Map();

  function item(peer) {
    let entry = items.get(peer.id);
    if (!entry) {
      const li = document.createElement('li');
      li.className = 'peer';
      const avatar = document.createElement('span');
      avatar.className = 'avatar';
      avatar.setAttribute('aria-hidden', 'true');
      const name = document.createElement('span');
      name.className = 'peer-name';
      const badge = document.createElement('span');
      badge.className = 'live-badge';
      badge.textContent = 'Live';
      const watch = document.createElement('button');
      watch.type = 'button';
      watch.className = 'call-button watch-button';
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'call-button';
      li.append(avatar, name, badge, watch, button);
      entry = { li, avatar, name, badge, watch, button, peer };
      const current = entry;
      button.addEventListener('click', () => on.call(current.peer));
      watch.addEventListener('click', () => on.watch(current.peer));
      items.set(peer.id, entry);
    }
    entry.peer = peer;
    const label = peer.label || peer.name;
    if (entry.name.textContent !== label) {
      entry.name.textContent = label;
      entry.avatar.textContent = initials(peer.name);
      entry.button.textContent = `Call ${label}`;
      entry.watch.textContent = `Watch ${label}`;
    }
    entry.badge.hidden = !peer.live;
    entry.watch.hidden = !peer.live;
    return entry;
  }

  return {
    /**
     * The address another device should open, and the sentence above it.
     * @param {string} url
     * @param {string} text
     */
    share(url, text) {
      if (shared === url) return;
      shared = url;
      els.emptyText.textContent = text;
      for (const [code, img] of [
        [els.joinUrl, els.qr],
        [els.inviteUrl, els.inviteQr],
      ]) {
        code.textContent = url;
        img.alt = `QR code of ${url}`;
        img.src = `/qr.svg?data=${encodeURIComponent(url)}`;
      }
    },

    /**
     * `offerCalls`/`offerWatch` false: this browser cannot, so the buttons
     * are not shown at all (rather than disabled).
     * @param {{peers: Array<{id,name,live}>, canCall: boolean, canWatch: boolean, offerCalls: boolean, offerWatch: boolean}} props
     */
    render({ peers, canCall, canWatch, offerCalls = true, offerWatch = true }) {
      const ids = new Set(peers.map((p) => p.id));
      for (const [id, entry] of items) {
        if (!ids.has(id)) {
          entry.li.remove();
          items.delete(id);
        }
      }
      peers.forEach((peer, i) => {
        const entry = item(peer);
        entry.button.disabled = !canCall;
        entry.button.hidden = peer.stream === true || !offerCalls;
        entry.watch.disabled = !canWatch;
        entry.watch.hidden = !peer.live || !offerWatch;
        // Move only what is out of place: moving a node can drop its focus.
        if (list.children[i] !== entry.li) list.insertBefore(entry.li, list.children[i] || null);
      });
      empty.hidden = peers.length > 0;
      invite.hidden = peers.length === 0;
    },
  };
}
