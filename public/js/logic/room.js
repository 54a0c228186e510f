// Rooms on the client: which room the page URL names, the socket URL for it,
// the link to share, and fresh private room names. No DOM access.

const ROOM_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Bytes of randomness in a new private room's name (128 bits ≥ the 96 asked). */
export const PRIVATE_ROOM_BYTES = 16;

/** Names this long or longer are shown as "Private room", not spelled out. */
const PRIVATE_NAME_CHARS = 16;

export function isRoomName(name) {
  return typeof name === 'string' && ROOM_NAME.test(name);
}

/** The room of a page path `/r/<room>` (trailing slash allowed), else null (the lobby). */
export function roomFromPath(pathname) {
  const match = /^\/r\/([^/]+)\/?$/.exec(pathname || '');
  return match && isRoomName(match[1]) ? match[1] : null;
}

/** The signaling URL for `room` (null: the lobby) on `host`. */
export function socketUrl(host, room) {
  const query = room ? `?room=${encodeURIComponent(room)}` : '';
  return `wss://${host}/rtc${query}`;
}

/** The page URL to share: the room's (or the lobby's), carrying the access key if any. */
/**
 * The origin other devices should open: the server's best LAN address (its
 * `ready` says `lan`), not the one this page happens to use, which may be
 * `localhost` or a Docker bridge. Anything but an https origin is ignored.
 */
export function shareOrigin(lan, pageOrigin) {
  if (typeof lan !== 'string') return pageOrigin;
  try {
    const url = new URL(lan);
    return url.protocol === 'https:' && url.origin === lan ? lan : pageOrigin;
  } catch {
    return pageOrigin;
  }
}

/**
 * The plain-HTTP landing to share instead (the server's `ready` says
 * `landing` when it offers one): a device that does not trust the appliance
 * yet is led through trusting it rather than onto a certificate warning.
 * Never with an access key, which must not travel in a plain-HTTP link; and
 * anything but a bare http origin is ignored. Null: share `https` as is.
 */
export function landingOrigin(landing, accessKey) {
  if (typeof landing !== 'string' || accessKey) return null;
  try {
    const url = new URL(landing);
    return url.protocol === 'http:' && url.origin === landing ? landing : null;
  } catch {
    return null;
  }
}

export function shareUrl(origin, room, accessKey) {
  const path = room ? `/r/${room}` : '/';
  const key = accessKey ? `?key=${encodeURIComponent(accessKey)}` : '';
  return `${origin}${path}${key}`;
}

/** A room name nobody can guess, from `bytes` random bytes: base64url, no padding. */
export function privateRoomName(bytes) {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** How the page names the room to its user. */
export function roomLabel(room) {
  if (!room) return 'Lobby';
  return room.length >= PRIVATE_NAME_CHARS ? 'Private room' : `Room ${room}`;
}
