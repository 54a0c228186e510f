// A room's meeting, without the DOM: the messages of the protocol, reading
// the server's `meeting` state, which members' streams to subscribe to, and
// the layout of the tiles. Unit-tested in tests/js/meeting.test.mjs.

import { isObject } from './protocol.js';

export function joinMessage(flags = {}) {
  return { type: 'meeting', data: { action: 'join', ...flags } };
}

export function leaveMessage() {
  return { type: 'meeting', data: { action: 'leave' } };
}

/** What our microphone, camera and screen do now. */
export function updateMessage(flags) {
  return { type: 'meeting', data: { action: 'update', ...flags } };
}

/** Our camera and microphone, sent once to the appliance for the meeting. */
export function publishMessage(sdp) {
  return { type: 'publish', data: { sdp, meeting: true } };
}

export function subscribeMessage(target, sdp) {
  return { type: 'subscribe', data: { target, sdp } };
}

export function unsubscribeMessage(target) {
  return { type: 'unsubscribe', data: { target } };
}

/**
 * The `data` of a `meeting` message as `{members, speaker, max}`; members
 * are `{id, muted, camera, screen, publishing}` in the order they joined.
 * Anything malformed is dropped rather than trusted.
 */
export function readMeeting(data) {
  if (!isObject(data) || !Array.isArray(data.members)) return null;
  const members = data.members
    .filter((m) => isObject(m) && typeof m.id === 'string' && m.id !== '')
    .map((m) => ({
      id: m.id,
      muted: m.muted === true,
      camera: m.camera !== false,
      screen: m.screen === true,
      publishing: m.publishing === true,
    }));
  const speaker = typeof data.speaker === 'string' && members.some((m) => m.id === data.speaker) ? data.speaker : null;
  const max = Number.isInteger(data.max) && data.max > 0 ? data.max : null;
  return { members, speaker, max };
}

/**
 * Which subscriptions to open and which to close: every other member whose
 * stream the appliance holds, and nobody else.
 * @param {Array<{id: string, publishing: boolean}>} members
 * @param {string} selfId
 * @param {Iterable<string>} subscribed  ids we hold (or are opening) a subscription to
 */
export function plan(members, selfId, subscribed) {
  const wanted = new Set(members.filter((m) => m.id !== selfId && m.publishing).map((m) => m.id));
  const have = new Set(subscribed);
  return {
    open: [...wanted].filter((id) => !have.has(id)),
    close: [...have].filter((id) => !wanted.has(id)),
  };
}

/**
 * Columns and rows for `n` tiles of aspect 16:9 in a `width`×`height` area,
 * choosing the arrangement whose tiles are largest, and their width.
 */
export function gridFor(n, width, height) {
  let best = { columns: 1, rows: Math.max(n, 1), tileWidth: 0 };
  for (let columns = 1; columns <= Math.max(n, 1); columns++) {
    const rows = Math.ceil(Math.max(n, 1) / columns);
    const tileWidth = Math.min(width / columns, ((height / rows) * 16) / 9);
    if (tileWidth > best.tileWidth) best = { columns, rows, tileWidth };
  }
  return { columns: best.columns, rows: best.rows, tileWidth: Math.floor(best.tileWidth) };
}

/**
 * The tile shown large, when one is: the one pinned (while it is still
 * there), else a shared screen, else — on a phone — the active speaker or
 * the first other member. A laptop shows the plain grid otherwise.
 * @returns {string|null}
 */
export function focusOf({ members, selfId, pinned, speaker, phone }) {
  const here = (id) => id && members.some((m) => m.id === id);
  if (here(pinned)) return pinned;
  const screen = members.find((m) => m.screen && m.id !== selfId) || members.find((m) => m.screen);
  if (screen) return screen.id;
  if (!phone) return null;
  if (here(speaker) && speaker !== selfId) return speaker;
  const other = members.find((m) => m.id !== selfId);
  return other ? other.id : null;
}

/** "Alice is in a meeting", "Alice, Bob and Carol are in a meeting". */
export function summaryText(names) {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is in a meeting here.`;
  const list = `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  return `${list} are in a meeting here.`;
}

/** The status line of the meeting panel. */
export function countText(n) {
  return n === 1 ? 'Only you so far' : `${n} people`;
}

/** Why joining failed before anything was sent, from mediaProblemKind. */
export function joinProblemText(kind) {
  switch (kind) {
    case 'denied':
      return 'Permission to use the camera and microphone was denied. Allow it in the browser\u2019s site settings, then join again.';
    case 'not-found':
      return 'No camera or microphone was found on this device, so it cannot join the meeting.';
    case 'in-use':
      return 'The camera and microphone could not be started; another app may be using them. Close it, then join again.';
    case 'unsupported':
      return 'This browser cannot use a camera or microphone on this page, so it cannot join the meeting.';
    default:
      return 'The camera and microphone could not be started. Try joining again.';
  }
}

/**
 * The layers a laptop sends (simulcast) for a camera `width` pixels wide:
 * the appliance forwards each receiver the best one its link and its tile
 * need. Lowest first; the top is always the camera's own size. A browser
 * sends at most two layers below 960 px (libwebrtc's limits) and none worth
 * having below 480, so a smaller picture gets fewer.
 */
export function simulcastLayers(width) {
  if (width >= 960) {
    return [
      { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
      { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
      { rid: 'f', maxBitrate: 1_500_000 },
    ];
  }
  if (width >= 480) {
    return [
      { rid: 'q', scaleResolutionDownBy: 2, maxBitrate: 200_000 },
      { rid: 'f', maxBitrate: 800_000 },
    ];
  }
  return [];
}

/**
 * Whether this device sends layers: a laptop does; a phone sends one (its
 * encoder and uplink are the scarce part, and its camera picture is small).
 */
export function sendsSimulcast({ coarsePointer, screenWidth }) {
  return !(coarsePointer && screenWidth < 900);
}

/** {@link sendsSimulcast} for the device `globals` (a window) describe. */
export function deviceSendsSimulcast(globals) {
  const coarsePointer = typeof globals.matchMedia === 'function' && globals.matchMedia('(pointer: coarse)').matches;
  const screenWidth = globals.screen && globals.screen.width ? globals.screen.width : 0;
  return sendsSimulcast({ coarsePointer, screenWidth });
}

/** The `sendEncodings` of a video track, when it is sent in layers; else none. */
export function layersFor(track, simulcast) {
  const width = track && typeof track.getSettings === 'function' ? track.getSettings().width || 0 : 0;
  const encodings = simulcast ? simulcastLayers(width) : [];
  return encodings.length > 1 ? { sendEncodings: encodings } : {};
}

/** How wide each other member's tile is shown, for the appliance: `view`. */
export function viewMessage(tiles) {
  return { type: 'meeting', data: { action: 'view', tiles } };
}

/**
 * Whether tile widths changed enough to tell the appliance again: a member
 * added or gone, or a width off by more than a fifth (a layer is twice the
 * width of the next, so small changes choose nothing new).
 */
export function tilesChanged(before, after) {
  const a = Object.keys(before);
  const b = Object.keys(after);
  if (a.length !== b.length || b.some((id) => !(id in before))) return true;
  return b.some((id) => {
    const was = before[id];
    const now = after[id];
    return Math.abs(now - was) > Math.max(was, now) * 0.2;
  });
}
