// The list of other devices (#peers) and, when it is empty, the explanation
// of how to join from another device (#peers-empty).

/**
 * @param {object} els  {list, empty, joinUrl, qr}
 * @param {(peer: {id: string, name: string}) => void} onCall
 */
export function createPeerList({ list, empty, joinUrl, qr }, onCall) {
  const url = `${location.origin}/`;
  joinUrl.textContent = url;
  qr.alt = `QR code of ${url}`;
  qr.src = `/qr.svg?data=${encodeURIComponent(url)}`;

  /** id -> {li, name, button, peer}; items are reused so focus survives updates. */
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
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'call-button';
      li.append(avatar, name, button);
      entry = { li, avatar, name, button, peer };
      const current = entry;
      button.addEventListener('click', () => onCall(current.peer));
      items.set(peer.id, entry);
    }
    entry.peer = peer;
    if (entry.name.textContent !== peer.name) {
      entry.name.textContent = peer.name;
      entry.avatar.textContent = initials(peer.name);
      entry.button.textContent = `Call ${peer.name}`;
    }
    return entry;
  }

  return {
    /** @param {{peers: Array<{id,name}>, canCall: boolean}} props */
    render({ peers, canCall }) {
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
        // Move only what is out of place: moving a node can drop its focus.
        if (list.children[i] !== entry.li) list.insertBefore(entry.li, list.children[i] || null);
      });
      empty.hidden = peers.length > 0;
    },
  };
}

function initials(name) {
  const words = name.split(/\s+/).filter(Boolean);
  const letters = words.slice(0, 2).map((w) => Array.from(w)[0]);
  return letters.join('').toUpperCase() || '?';
}
