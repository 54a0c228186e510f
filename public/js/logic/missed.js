// The missed-call list: calls that rang on this page and ended unanswered.
// Pure; features/calls.js keeps the list (in sessionStorage, so a reload or
// a live reload keeps it) and ui/missedCalls.js shows it.

/** The list keeps the latest this many. */
export const MAX_MISSED = 10;

/** The list with `peer`'s missed call (at `at`, ms since the epoch) first. */
export function addMissed(list, peer, at) {
  const entry = { id: String(peer.id), name: String(peer.name), at: Number(at) };
  return [entry, ...list].slice(0, MAX_MISSED);
}

/** A list read back from storage: whatever is not a well-formed entry is dropped. */
export function parseMissed(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(value)) return [];
  return value
    .filter(
      (e) =>
        e !== null &&
        typeof e === 'object' &&
        typeof e.id === 'string' &&
        typeof e.name === 'string' &&
        Number.isFinite(e.at),
    )
    .slice(0, MAX_MISSED);
}

/**
 * Whom "Call back" calls: the same connection if it is still here, else the
 * one device now going by that name (a reloaded page gets a new id). Null
 * when there is none, or more than one and we cannot tell which.
 */
export function callBackTarget(entry, peers) {
  const same = peers.find((p) => p.id === entry.id);
  if (same) return same;
  const named = peers.filter((p) => p.name === entry.name);
  return named.length === 1 ? named[0] : null;
}
