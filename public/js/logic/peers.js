// The list of other devices, kept from the server's `peer` messages.
// A pure reducer: every function returns a new array. No DOM access.

/** Orders peers by name (case- and accent-insensitive), then by id. */
export function comparePeers(a, b) {
  const byName = a.name.localeCompare(b.name, undefined, { sensitivity: 'base' });
  if (byName !== 0) return byName;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Applies the `data` of one `peer` message: adds a newcomer, renames a known
 * peer or updates whether it is live, or removes one (`remove: true`).
 * Messages without a string id and name, and any about `selfId`, leave the
 * list unchanged. Each peer is `{id, name, live}`, plus `stream: true` for
 * a stream published to the appliance rather than a device. An announcement
 * with `was` (the id that device had before its signaling dropped) replaces
 * the entry under that id.
 */
export function applyPeerMessage(peers, data, selfId = null) {
  if (!data || typeof data !== 'object') return peers;
  const { id, name } = data;
  if (typeof id !== 'string' || id === '' || id === selfId) return peers;
  // `was`: the same device back on a new connection, so its old entry goes.
  const was = typeof data.was === 'string' && data.remove !== true ? data.was : null;
  const others = peers.filter((p) => p.id !== id && p.id !== was);
  if (data.remove === true) {
    return others.length === peers.length ? peers : others;
  }
  if (typeof name !== 'string') return peers;
  const peer = { id, name, live: data.live === true };
  // A stream sent to the appliance (WHIP) can be watched, not called.
  if (data.kind === 'whip') peer.stream = true;
  return [...others, peer].sort(comparePeers);
}

/** The peer with this id, or undefined. */
export function findPeer(peers, id) {
  return peers.find((p) => p.id === id);
}

/**
 * Peers with a `label` to show: the name, or when another peer has the same
 * name (case aside), the name and the first four characters of the id, so
 * two phones both called "iPhone" can be told apart (the same on every
 * device, since ids are the server's).
 */
export function withLabels(peers) {
  const counts = new Map();
  for (const p of peers) {
    const key = p.name.toLocaleLowerCase();
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  return peers.map((p) =>
    counts.get(p.name.toLocaleLowerCase()) > 1
      ? { ...p, label: `${p.name} \u00b7 ${p.id.replace(/-/g, '').slice(0, 4)}` }
      : { ...p, label: p.name },
  );
}
