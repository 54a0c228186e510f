// Media choices and what to tell a person when the camera or microphone
// cannot be used. No DOM access: errors are read by their `name` only.

/**
 * How a person joins a call:
 * - full: camera and microphone;
 * - audio: microphone only ("Call without camera");
 * - recvonly: nothing sent, only received ("Call receive-only").
 */
export const MODES = Object.freeze(['full', 'audio', 'recvonly']);

/** The label of the button that retries a call in `mode`. */
export const MODE_LABELS = Object.freeze({
  full: 'Call again',
  audio: 'Call without camera',
  recvonly: 'Call receive-only',
});

export function isMode(value) {
  return MODES.includes(value);
}

/** getUserMedia constraints for a mode; null when nothing is captured. */
export function constraintsFor(mode) {
  switch (mode) {
    case 'full':
      return { audio: true, video: true };
    case 'audio':
      return { audio: true, video: false };
    default:
      return null;
  }
}

/** Sorts a getUserMedia failure into what the person can do about it. */
export function mediaProblemKind(error) {
  const name = error && typeof error.name === 'string' ? error.name : '';
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return 'denied';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'not-found';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'in-use';
    case 'TypeError':
    case 'NotSupportedError':
      return 'unsupported';
    default:
      return 'other';
  }
}

/** The fallback modes worth offering after `mode` failed. */
export function fallbackModes(mode) {
  if (mode === 'full') return ['audio', 'recvonly'];
  if (mode === 'audio') return ['recvonly'];
  return [];
}

/** The fallback modes to offer after a `kind` problem in `mode`. */
export function retryModes(kind, mode) {
  if (kind === 'unsupported') return mode === 'recvonly' ? [] : ['recvonly'];
  return fallbackModes(mode);
}

/** The same choices when answering a call: the verb is "answer". */
export const ANSWER_LABELS = Object.freeze({
  audio: 'Answer without camera',
  recvonly: 'Answer receive-only',
});

/**
 * A sentence saying what went wrong and what to do. `verb` is "call" when
 * placing a call, "answer" when taking one, so the sentence matches the
 * buttons offered beside it.
 */
export function describeMediaProblem(kind, mode, verb = 'call') {
  const what = mode === 'audio' ? 'microphone' : 'camera and microphone';
  const alternatives = mode === 'audio'
    ? `or ${verb} receive-only.`
    : `or ${verb} without camera or receive-only.`;
  switch (kind) {
    case 'denied':
      return `Permission to use the ${what} was denied. Allow it in the browser's site settings and try again, ${alternatives}`;
    case 'not-found':
      return mode === 'audio'
        ? `No microphone was found on this device. You can still ${verb} receive-only.`
        : `No camera was found on this device. Plug one in and try again, ${alternatives}`;
    case 'in-use':
      return `The ${what} could not be started; another app may be using it. Close that app and try again, ${alternatives}`;
    case 'unsupported':
      return `This browser cannot use a camera or microphone on this page. You can still ${verb} receive-only.`;
    default:
      return `The ${what} could not be started. Try again, ${alternatives}`;
  }
}

/** Why "Go live" did not start, and how to fix it. */
export function describeLiveProblem(kind, source) {
  if (source === 'screen') {
    return kind === 'denied'
      ? 'You are not live: sharing the screen was cancelled or refused. Press "Go live with screen" again and pick a screen or window.'
      : 'You are not live: the screen could not be shared. Try again, or go live with the camera.';
  }
  switch (kind) {
    case 'denied':
      return 'You are not live: permission to use the camera was denied. Allow the camera for this site in the browser\'s settings, then press "Go live" again.';
    case 'not-found':
      return 'You are not live: no camera was found on this device. Plug one in and press "Go live" again, or go live with the screen.';
    case 'in-use':
      return 'You are not live: the camera could not be started; another app may be using it. Close that app and press "Go live" again.';
    default:
      return 'You are not live: the camera could not be started. Press "Go live" to try again.';
  }
}

/**
 * The camera after `currentId` in `cameraIds`, wrapping around; the first
 * one when the current camera is unknown; null when there is no other.
 */
export function nextCamera(cameraIds, currentId) {
  if (cameraIds.length < 2) return null;
  const i = cameraIds.indexOf(currentId);
  return cameraIds[(i + 1) % cameraIds.length];
}

/**
 * What this browser can do, from its globals (`window`): `watch` needs
 * RTCPeerConnection; `calls` (and going live) also need getUserMedia.
 * Debian's WebKitGTK and some in-app web views have neither.
 */
export function webrtcSupport(globals) {
  const g = globals || {};
  const watch = typeof g.RTCPeerConnection === 'function';
  const md = g.navigator && g.navigator.mediaDevices;
  const calls = watch && Boolean(md) && typeof md.getUserMedia === 'function';
  return { calls, watch };
}

/** What to tell a person whose browser cannot do `support` lacks; null when it can. */
export function unsupportedText(support) {
  if (support.calls) return null;
  const which = 'Open this address in Safari, Chrome, Firefox or Edge instead.';
  return support.watch
    ? `This browser cannot use a camera or microphone, so it cannot make calls or go live; it can still watch. ${which}`
    : `This browser cannot make video calls (it has no WebRTC). ${which}`;
}
