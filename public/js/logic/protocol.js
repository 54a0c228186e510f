// The messages of docs/protocol.md, built and checked here so the rest of
// the app never spells a wire format by hand. No DOM access.

/** The JSON value of a text frame, or null when it is not text or not JSON. */
function parseJson(text) {
  if (typeof text !== 'string') return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Parses one server frame; null unless it is a JSON object with a string `type`. */
export function parseServerMessage(text) {
  const value = parseJson(text);
  if (!isObject(value) || typeof value.type !== 'string') return null;
  return value;
}

export function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * `live` is sent only while true, so a plain identify stays the original
 * message. `rejoin` ({id, token}: this page's id and rejoin token on its
 * previous connection) asks to be announced as that same device.
 */
export function identify(id, name, live = false, rejoin = null) {
  const data = { id, name };
  if (live) data.live = true;
  if (rejoin) data.rejoin = { id: rejoin.id, token: rejoin.token };
  return { type: 'identify', data };
}

export function offer(target, sdp) {
  return { type: 'offer', data: { type: 'offer', sdp, target } };
}

export function accept(target, sdp) {
  return { type: 'accept', data: { type: 'answer', sdp, target } };
}

/** `candidate` is `RTCIceCandidate.toJSON()`, or null at the end of gathering. */
export function iceCandidate(target, candidate) {
  return { type: 'icecandidate', data: { target, candidate } };
}

export function reject(target, reason) {
  return { type: 'reject', data: { target, reason } };
}

/** `reason` is optional; "timeout" tells the callee the call went unanswered. */
export function hangup(target, reason) {
  const data = { target };
  if (reason !== undefined) data.reason = reason;
  return { type: 'hangup', data };
}

/**
 * Reads a relayed message's fields, or null when a required one is missing
 * or of the wrong type. `from` is the server-stamped `data.source`; `stream`
 * is the sender's side of a live stream ('broadcaster' or 'viewer'), or
 * undefined for a call's messages.
 */
export function readRelay(message) {
  const data = message && message.data;
  if (!isObject(data) || typeof data.source !== 'string') return null;
  const from = data.source;
  const stream = typeof data.stream === 'string' ? data.stream : undefined;
  switch (message.type) {
    case 'offer':
    case 'watch':
      return typeof data.sdp === 'string' ? { from, stream, sdp: data.sdp } : null;
    case 'accept':
      // `via: "appliance"`: the media server answered for the broadcaster.
      if (typeof data.sdp !== 'string') return null;
      return { from, stream, sdp: data.sdp, via: data.via === 'appliance' ? 'appliance' : 'direct' };
    case 'reject':
    case 'hangup':
      return { from, stream, reason: typeof data.reason === 'string' ? data.reason : undefined };
    case 'icecandidate': {
      const c = data.candidate;
      if (c === null || c === undefined) return { from, stream, candidate: null };
      if (!isObject(c) || typeof c.candidate !== 'string') return null;
      return { from, stream, candidate: c };
    }
    default:
      return null;
  }
}

// Data channel messages, in the SitePen webrtc-blog format.

/** Longest chat message sent or shown, in characters. */
export const MAX_CHAT_CHARS = 2000;

export function chatMessage(text) {
  return JSON.stringify({ type: 'chat', data: text });
}

export function disconnectMessage() {
  return JSON.stringify({ type: 'disconnect' });
}

/** "Add someone": both sides move this call into the room's meeting. */
export function toMeetingMessage() {
  return JSON.stringify({ type: 'meeting' });
}

/**
 * What this side sends: `audio` false when muted, `video` false when the
 * camera is off or there is none. An extension: SitePen clients ignore it.
 */
export function mediaMessage(audio, video) {
  return JSON.stringify({ type: 'media', data: { audio: Boolean(audio), video: Boolean(video) } });
}

/**
 * `{type:'chat', text}`, `{type:'disconnect'}`, `{type:'media', audio,
 * video}`, or null for anything else.
 */
export function parseChannelMessage(text) {
  const value = parseJson(text);
  if (!isObject(value)) return null;
  if (value.type === 'chat' && typeof value.data === 'string') {
    return { type: 'chat', text: Array.from(value.data).slice(0, MAX_CHAT_CHARS).join('') };
  }
  if (value.type === 'disconnect') return { type: 'disconnect' };
  // "Add someone": the call moves to the room's meeting (an extension).
  if (value.type === 'meeting') return { type: 'meeting' };
  if (value.type === 'media' && isObject(value.data)) {
    const { audio, video } = value.data;
    if (typeof audio === 'boolean' && typeof video === 'boolean') return { type: 'media', audio, video };
  }
  return null;
}
