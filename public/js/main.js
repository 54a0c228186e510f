// The shell: the signaling socket, routing each message type to the feature
// that owns it, the call state machine and its effects, and render(). A
// feature with its own controller (features/streams.js: going live and
// watching) keeps its state and handles its messages itself; calls, rooms
// and sharing are still wired here. What a person does comes back up as
// callbacks that become state-machine events or feature calls.
import { CallSession, MediaProblem } from './call.js';
import { Signaling } from './signaling.js';
import { idleCall, transition } from './logic/callState.js';
import { MODE_LABELS, unsupportedText, webrtcSupport } from './logic/media.js';
import { cleanName, randomName } from './logic/names.js';
import { bustedHref, reloadPlan } from './logic/reload.js';
import { applyPeerMessage, findPeer, withLabels } from './logic/peers.js';
import { accept, identify, isObject, offer, readRelay, reject } from './logic/protocol.js';
import {
  PRIVATE_ROOM_BYTES,
  privateRoomName,
  roomFromPath,
  roomLabel,
  shareOrigin,
  shareUrl,
  socketUrl,
} from './logic/room.js';
import { createStreams } from './features/streams.js';
import { createCallPanel } from './ui/callPanel.js';
import { createChat } from './ui/chat.js';
import { createIncomingDialog } from './ui/incomingDialog.js';
import { createLivePanel, createWatchPanel } from './ui/livePanels.js';
import { createNameField } from './ui/nameField.js';
import { createPeerList } from './ui/peerList.js';
import { createRinger } from './ui/ringer.js';
import { createWakeLock } from './ui/wakeLock.js';
import { createSignalState } from './ui/signalState.js';
import { createStatus } from './ui/status.js';

const NAME_KEY = 'lanrtc.name';

/**
 * A socket that fails this many times in a row without ever having opened
 * most likely hits a certificate this device does not trust (Safari, for
 * one, does not extend a page's certificate exception to WebSockets).
 */
const TRUST_HINT_AFTER = 3;

/** Time for a hang-up to leave before a live reload replaces the page. */
const RELOAD_DELAY_MS = 500;

const $ = (id) => document.getElementById(id);

// ---- state ----

let call = idleCall;
let peers = [];
let selfId = null;
let iceServers = [];
let loadedVersion = null;
let reloading = false;
/** The current call's CallSession, from dial or incoming offer until teardown. */
let session = null;
/** The call's timers by name ('ring', 'link'): each fires one state-machine event. */
const timers = new Map();
/** Fallback offered in the status line after a camera problem: {peer, modes, answer}. */
let retry = null;
/** Why answering failed, shown in the incoming dialog: {text, modes}. */
let answerProblem = null;
let name = loadName();
/** What this browser can do: without WebRTC, no Call, Accept, Watch or Go live. */
const support = webrtcSupport(window);
/** The room named by the page URL; null is the lobby. */
const room = roomFromPath(location.pathname);
/** The server's access key (from `ready`), for the links this page shares. */
let accessKey = null;
/** The origin other devices should open (from `ready`: the best LAN address). */
let lanOrigin = location.origin;
/** The server forwards broadcasts (its `ready` says `media: true`). */
let mediaOn = false;

function loadName() {
  let stored = null;
  try {
    stored = localStorage.getItem(NAME_KEY);
  } catch {
    // Storage can be off (private modes); a fresh name each visit will do.
  }
  const chosen = stored ? cleanName(stored) : randomName();
  saveName(chosen);
  return chosen;
}

function saveName(value) {
  try {
    localStorage.setItem(NAME_KEY, value);
  } catch {
    // See loadName.
  }
}

// ---- pieces ----

const signaling = new Signaling(socketUrl(location.host, room));

const status = createStatus($('status'), $('status-actions'), onStatusAction);
const signalState = createSignalState($('signal-state'));
const ringer = createRinger();
/** Going live and watching: a feature that owns its own state. */
const streams = createStreams({
  send: (message) => signaling.send(message),
  status,
  render: () => render(),
  self: () => ({ id: selfId, name }),
  iceServers: () => iceServers,
  mediaOn: () => mediaOn,
  callStream: () => (session ? session.localStream : null),
  peerName: (id) => (findPeer(peers, id) || { name: 'someone' }).name,
});
const wakeLock = createWakeLock();

const unsupported = unsupportedText(support);
if (unsupported) {
  $('unsupported').textContent = unsupported;
  $('unsupported').hidden = false;
}

createNameField($('name'), name, (next) => {
  name = next;
  saveName(next);
  if (selfId) signaling.send(identify(selfId, next, streams.live));
});

const peerList = createPeerList(
  {
    list: $('peers'),
    empty: $('peers-empty'),
    emptyText: $('empty-text'),
    joinUrl: $('join-url'),
    qr: $('join-qr'),
    invite: $('invite'),
    inviteUrl: $('invite-url'),
    inviteQr: $('invite-qr'),
  },
  {
    call: (peer) => {
      // A sensible moment to ask: this person makes calls, so will get them.
      ringer.askForNotifications();
      dispatch({ type: 'dial', peer, mode: 'full' });
    },
    watch: (peer) => streams.watch(peer),
  },
);

const livePanel = createLivePanel(
  { root: $('live'), preview: $('live-preview'), audience: $('live-audience'), stop: $('stop-live') },
  () => streams.stopLive(),
);

const watchPanel = createWatchPanel(
  {
    root: $('watch'),
    video: $('watch-video'),
    title: $('watch-title'),
    state: $('watch-state'),
    stop: $('stop-watching'),
    play: $('watch-play'),
    fullscreen: $('watch-fullscreen'),
    pip: $('watch-pip'),
  },
  () => streams.stopWatching(),
);

$('go-live').addEventListener('click', () => streams.goLive('camera'));
$('go-live-screen').addEventListener('click', () => streams.goLive('screen'));
$('new-room').addEventListener('click', () => {
  const bytes = crypto.getRandomValues(new Uint8Array(PRIVATE_ROOM_BYTES));
  location.assign(`/r/${privateRoomName(bytes)}`);
});

const dialog = createIncomingDialog(
  {
    root: $('incoming'),
    title: $('incoming-title'),
    detail: $('incoming-detail'),
    accept: $('accept-call'),
    choices: $('incoming-choices'),
    decline: $('decline-call'),
  },
  {
    onAccept: () => {
      ringer.askForNotifications();
      dispatch({ type: 'accept', mode: 'full' });
    },
    onChoice: (mode) => onStatusAction(mode),
    onDecline: () => dispatch({ type: 'decline' }),
  },
);

const panel = createCallPanel(
  {
    root: $('call'),
    peerName: $('call-peer-name'),
    remoteVideo: $('remote-video'),
    localVideo: $('local-video'),
    timer: $('call-timer'),
    connection: $('connection-state'),
    mute: $('mute-button'),
    camera: $('camera-button'),
    switchCamera: $('switch-camera-button'),
    share: $('share-button'),
    hangup: $('hangup-button'),
    cancel: $('cancel-button'),
    remoteMuted: $('remote-muted'),
    remoteOff: $('remote-off'),
    remoteOffText: $('remote-off-text'),
    remoteOffInitials: $('remote-off-initials'),
    remotePlay: $('remote-play'),
    fullscreen: $('remote-fullscreen'),
    pip: $('remote-pip'),
  },
  {
    onMute: () => session && session.toggleMute(),
    onCamera: () => session && session.toggleCamera(),
    onSwitchCamera: switchCamera,
    onShare: toggleShare,
    onHangup: () => dispatch({ type: 'hangup' }),
    onCancel: () => dispatch({ type: 'cancel' }),
  },
);

const chat = createChat(
  { form: $('chat-form'), input: $('chat-input'), log: $('chat-log') },
  (text) => {
    if (!session || call.state !== 'in-call') return;
    session.sendChat(text);
    chat.add('You', text, true);
  },
);

// ---- the state machine and its effects ----

function dispatch(event) {
  const result = transition(call, event);
  call = result.call;
  for (const effect of result.effects) {
    try {
      run(effect);
    } catch (err) {
      console.error(`lanrtc: effect ${effect.type} failed`, err);
    }
  }
  render();
}

function run(effect) {
  switch (effect.type) {
    case 'open-session':
      openSession(effect.peer);
      break;
    case 'start-call':
      startCall(effect.mode);
      break;
    case 'answer-call':
      answerCall(effect.sdp, effect.mode);
      break;
    case 'apply-answer':
      applyAnswer(effect.sdp);
      break;
    case 'send':
      signaling.send(effect.message);
      break;
    case 'channel-send':
      if (session) session.sendChannel(effect.message);
      break;
    case 'start-timer':
      startTimer('ring', effect.ms, 'timeout');
      break;
    case 'stop-timer':
      stopTimer('ring');
      break;
    case 'restart-ice':
      restartIce();
      break;
    case 'answer-restart':
      answerRestart(effect.sdp);
      break;
    case 'apply-restart-answer':
      if (session) session.applyRestartAnswer(effect.sdp);
      break;
    case 'retry-restart':
      startTimer('restart', effect.ms, 'restart-retry');
      break;
    case 'check-link':
      startTimer('link', effect.ms, 'link-check');
      break;
    case 'teardown':
      teardown();
      break;
    case 'status':
      showCallStatus(effect);
      break;
    default:
      console.warn('lanrtc: unknown effect', effect);
  }
}

/** (Re)starts the timer `name`, which dispatches `event` after `ms`. */
function startTimer(name, ms, event) {
  stopTimer(name);
  timers.set(
    name,
    setTimeout(() => {
      timers.delete(name);
      dispatch({ type: event });
    }, ms),
  );
}

function stopTimer(name) {
  clearTimeout(timers.get(name));
  timers.delete(name);
}

function openSession(peer) {
  if (session) session.close();
  chat.clear();
  const s = new CallSession({
    peer,
    iceServers,
    send: (message) => signaling.send(message),
    on: {
      localStream: (stream, options) => session === s && panel.setLocalStream(stream, options),
      remoteStream: (stream) => session === s && panel.setRemoteStream(stream),
      link: (link) => session === s && dispatch({ type: 'link-changed', ...link }),
      chat: (text) => session === s && chat.add(call.peer ? call.peer.name : s.peer.name, text, false),
      disconnect: () => session === s && dispatch({ type: 'channel-disconnect' }),
      media: () => session === s && render(),
    },
  });
  session = s;
}

async function startCall(mode) {
  const s = session;
  if (!s) return;
  try {
    await s.acquireMedia(mode);
    if (s.closed) return;
    render();
    const sdp = await s.createOffer();
    if (s.closed) return;
    if (!signaling.send(offer(s.peer.id, sdp))) throw new Error('the server connection was lost');
    s.markDescriptionSent();
    dispatch({ type: 'offer-sent' });
  } catch (err) {
    reportFailure(s, err);
  }
}

async function answerCall(sdp, mode) {
  const s = session;
  if (!s) return;
  try {
    await s.acquireMedia(mode);
    if (s.closed) return;
    const answer = await s.createAnswer(sdp);
    if (s.closed) return;
    if (!signaling.send(accept(s.peer.id, answer))) throw new Error('the server connection was lost');
    s.markDescriptionSent();
    dispatch({ type: 'answer-sent' });
  } catch (err) {
    reportFailure(s, err);
  }
}

/** The caller's side of an ICE restart: a new offer over the server. */
async function restartIce() {
  const s = session;
  if (!s) return;
  try {
    const sdp = await s.restartOffer();
    if (sdp && session === s) signaling.send(offer(s.peer.id, sdp));
  } catch (err) {
    // The restart's own deadline ends the call if the link stays down.
    console.warn('lanrtc: ICE restart failed', err);
  }
}

/** The callee's side: answers the caller's restart offer. */
async function answerRestart(sdp) {
  const s = session;
  if (!s) return;
  try {
    const answer = await s.answerRestart(sdp);
    if (answer && session === s) signaling.send(accept(s.peer.id, answer));
  } catch (err) {
    console.warn('lanrtc: could not answer an ICE restart', err);
  }
}

function applyAnswer(sdp) {
  const s = session;
  if (!s) return;
  s.applyAnswer(sdp).catch((err) => reportFailure(s, err));
}

function reportFailure(s, err) {
  if (s.closed || session !== s) return;
  if (err instanceof MediaProblem) {
    console.warn('lanrtc: media unavailable', err.kind, err.cause);
    dispatch({ type: 'media-failed', kind: err.kind });
  } else {
    console.error('lanrtc: call setup failed', err);
    dispatch({ type: 'failed', message: err && err.message ? err.message : String(err) });
  }
}

function teardown() {
  stopTimer('ring');
  stopTimer('link');
  stopTimer('restart');
  if (session) {
    session.close({ linger: true });
    session = null;
  }
  panel.setLocalStream(null, { mirrored: false });
  panel.setRemoteStream(null);
}

function showCallStatus({ text, retry: offered }) {
  retry = offered && offered.modes.length > 0 ? offered : null;
  // A failed answer is explained in the incoming dialog, with the other
  // ways to answer as its buttons; the status line stays out of it.
  if (offered && offered.answer) {
    answerProblem = { text, modes: retry ? retry.modes : [] };
    status.clear('call');
    return;
  }
  const actions = retry
    ? retry.modes.map((mode) => ({ label: MODE_LABELS[mode], value: mode }))
    : [];
  status.show(text, { key: 'call', actions });
}

function onStatusAction(mode) {
  const r = retry;
  if (!r) return;
  if (r.answer) {
    if (call.state === 'ringing' && call.peer.id === r.peer.id) dispatch({ type: 'accept', mode });
    return;
  }
  if (call.state !== 'idle') return;
  const peer = findPeer(peers, r.peer.id);
  if (!peer) {
    retry = null;
    status.show(`${r.peer.name} is no longer connected.`);
    return;
  }
  dispatch({ type: 'dial', peer, mode });
}

async function switchCamera() {
  const s = session;
  if (!s) return;
  try {
    await s.switchCamera();
  } catch (err) {
    console.warn('lanrtc: camera switch failed', err);
    if (session === s) status.show('The camera could not be switched. Try again, or turn the camera off.');
  }
}

async function toggleShare() {
  const s = session;
  if (!s) return;
  try {
    await s.toggleShare();
  } catch (err) {
    console.warn('lanrtc: screen sharing failed', err);
    if (session !== s) return;
    status.show(
      err && err.name === 'NotAllowedError'
        ? 'Screen sharing was not started.'
        : 'Screen sharing is not available here.',
    );
  }
}

function updateShare() {
  peerList.share(
    shareUrl(lanOrigin, room, accessKey),
    room
      ? 'No one else is in this room yet. Open this address on the devices that should join (only they will see this room):'
      : 'No other device is here yet. To join, open this address on a phone or laptop on the same network:',
  );
}

// ---- the server ----

signaling.addEventListener('ready', (e) => {
  const message = e.detail;
  const id = typeof message.id === 'string' ? message.id : null;
  // A second `ready` on the same connection only announces new app files:
  // this device is still listed, and the peer list is still right.
  const sameConnection = id !== null && id === selfId;
  if (!sameConnection) {
    selfId = id;
    iceServers = Array.isArray(message.iceServers) ? message.iceServers : [];
    accessKey = typeof message.accessKey === 'string' ? message.accessKey : null;
    lanOrigin = shareOrigin(message.lan, location.origin);
    mediaOn = message.media === true;
    updateShare();
    peers = [];
    if (selfId) signaling.send(identify(selfId, name, streams.live));
  }
  if (typeof message.version === 'string') {
    if (loadedVersion === null) loadedVersion = message.version;
    else if (message.version !== loadedVersion) {
      if (reloadPlan(message.changed) === 'css') swapStylesheets(message.version);
      else liveReload();
    }
  }
  render();
});

/** Only stylesheets changed: load the new ones in place, so a call goes on. */
function swapStylesheets(version) {
  loadedVersion = version;
  for (const link of document.querySelectorAll('link[rel="stylesheet"]')) {
    const next = link.cloneNode();
    next.href = bustedHref(link.getAttribute('href'), version, location.href);
    // Remove the old sheet once the new one applies, so nothing flashes.
    next.addEventListener('load', () => link.remove(), { once: true });
    next.addEventListener('error', () => next.remove(), { once: true });
    link.after(next);
  }
}

signaling.addEventListener('state', (e) => {
  const { connected, everOpened, failures } = e.detail;
  if (connected) {
    status.clear('signal');
  } else {
    // The list is rebuilt from `peer` messages after the next identify.
    peers = [];
    selfId = null;
    // Everyone else sees us leave, so our viewers' streams end; and the
    // broadcaster we watch no longer hears from us.
    streams.onOffline();
    if (!everOpened && failures >= TRUST_HINT_AFTER) {
      status.show(
        'The live connection to the server cannot be opened. If this keeps happening, this device may not trust the server\u2019s certificate yet.',
        { key: 'signal', link: { href: '/trust', text: 'Trust this server' } },
      );
    }
  }
  render();
});

signaling.addEventListener('message', (e) => onMessage(e.detail));

function onMessage(message) {
  switch (message.type) {
    case 'peer': {
      const data = message.data;
      peers = applyPeerMessage(peers, data, selfId);
      streams.onPeer(data);
      if (isObject(data) && typeof data.id === 'string') {
        if (data.remove === true) dispatch({ type: 'peer-left', id: data.id });
        else if (typeof data.name === 'string') {
          dispatch({ type: 'peer-updated', peer: { id: data.id, name: data.name } });
        }
      }
      render();
      return;
    }
    case 'error':
      onServerError(message.data);
      return;
    default:
      break;
  }
  // Messages a feature owns, by type.
  const handler = Object.hasOwn(streams.serverMessages, message.type)
    ? streams.serverMessages[message.type]
    : null;
  if (handler) {
    handler(message.data);
    return;
  }
  const relay = readRelay(message);
  if (!relay) {
    console.warn('lanrtc: ignoring message', message);
    return;
  }
  if (streams.onRelay(message, relay)) return;
  switch (message.type) {
    case 'offer': {
      // Nothing here could answer it: say so at once instead of ringing.
      if (!support.calls) {
        signaling.send(reject(relay.from, 'unsupported'));
        break;
      }
      const peer = findPeer(peers, relay.from) || { id: relay.from, name: 'Someone' };
      dispatch({ type: 'offer-received', peer, sdp: relay.sdp });
      break;
    }
    case 'accept':
      dispatch({ type: 'answer-received', from: relay.from, sdp: relay.sdp });
      break;
    case 'reject':
      dispatch({ type: 'reject-received', from: relay.from, reason: relay.reason });
      break;
    case 'hangup':
      dispatch({ type: 'hangup-received', from: relay.from, reason: relay.reason });
      break;
    case 'icecandidate':
      if (session && call.state !== 'idle' && relay.from === session.peer.id) {
        session.addRemoteCandidate(relay.candidate);
      }
      break;
    default:
      break;
  }
}

function onServerError(data) {
  const error = isObject(data) ? data : {};
  console.warn(`lanrtc: server error ${error.code}: ${error.message}`, error.ref);
  if (streams.onError(error)) return;
  // Rejects go to callers we turned away as busy; one of those being gone
  // says nothing about our own call.
  if (error.code === 'unknown-target' && error.ref !== 'reject' && call.state !== 'idle') {
    dispatch({ type: 'target-gone' });
  }
}

/** The served files changed: end any call cleanly, then load the new version. */
function liveReload() {
  if (reloading) return;
  reloading = true;
  streams.stopLive();
  streams.stopWatching();
  if (call.state === 'idle') {
    location.reload();
    return;
  }
  dispatch({ type: 'hangup' });
  setTimeout(() => location.reload(), RELOAD_DELAY_MS);
}

// ---- the page ----

function render() {
  document.body.dataset.callState = call.state;
  const connected = signaling.connected;
  signalState.render(connected);
  peerList.render({
    peers: withLabels(peers),
    canCall: connected && call.state === 'idle',
    canWatch: connected,
    offerCalls: support.calls,
    offerWatch: support.watch,
  });
  const view = streams.view();
  livePanel.render(view.live);
  watchPanel.render(view.watching);
  document.body.dataset.live = streams.live ? 'on' : 'off';
  document.body.dataset.watchState = view.watchState;
  $('go-live').hidden = streams.live || !support.calls;
  $('go-live-screen').hidden = streams.live || !canShareScreen() || !support.calls;
  $('go-live').disabled = $('go-live-screen').disabled = !connected;
  $('new-room').disabled = call.state !== 'idle' || streams.live;
  $('leave-room').hidden = room === null;
  $('people-title').textContent = room ? roomLabel(room) : 'Devices here';
  ringer.render(call.state === 'ringing', call.peer ? call.peer.name : '');
  wakeLock.render(call.state === 'in-call' || streams.live || streams.watching);
  if (call.state !== 'ringing') answerProblem = null;
  dialog.render({
    open: call.state === 'ringing',
    problem: answerProblem,
    name: call.peer ? call.peer.name : '',
    answering: call.answering,
  });
  panel.render({
    state: call.state,
    peerName: call.peer ? call.peer.name : '',
    media: session ? session.mediaState() : null,
    connection: session ? session.connectionState : 'new',
    connectedAt: session ? session.connectedAt : null,
  });
  document.title =
    call.state === 'ringing'
      ? `${call.peer.name} is calling \u00b7 lanrtc`
      : call.state === 'in-call'
        ? `In a call with ${call.peer.name} \u00b7 lanrtc`
        : streams.live
          ? 'Live \u00b7 lanrtc'
          : 'lanrtc';
}

function canShareScreen() {
  return Boolean(navigator.mediaDevices && typeof navigator.mediaDevices.getDisplayMedia === 'function');
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') signaling.reconnectNow();
});
window.addEventListener('online', () => signaling.reconnectNow());
// Leaving the page ends the call's connection at once, so the other side
// sees "<name> left." within moments rather than after ICE gives up.
window.addEventListener('pagehide', () => {
  if (session) session.close();
  streams.stopLive();
  streams.stopWatching();
  signaling.stop();
});
// A page restored from the back-forward cache holds a dead call and socket.
window.addEventListener('pageshow', (e) => {
  if (e.persisted) location.reload();
});

// For diagnostics (and the browser tests): what this page is streaming.
Object.defineProperty(window, 'lanrtc', {
  value: Object.freeze({
    get broadcast() {
      return streams.broadcast;
    },
    get ringer() {
      return ringer.state;
    },
    get wakeLock() {
      return wakeLock.held;
    },
    /** The other side's ICE username fragment: it changes on an ICE restart. */
    get remoteIceUfrag() {
      const sdp = session && session.pc && session.pc.remoteDescription ? session.pc.remoteDescription.sdp : '';
      const m = /a=ice-ufrag:(\S+)/.exec(sdp);
      return m ? m[1] : null;
    },
  }),
});

updateShare();
render();
signaling.start();
// Tells boot.js the app is running (without it, the page says it failed to
// load and waits for fixed files).
window.lanrtcStarted = true;

// Installable, and openable when the appliance is out of reach (sw.js).
// Only where the page is trusted https: a worker cannot register otherwise.
if ('serviceWorker' in navigator && window.isSecureContext) {
  navigator.serviceWorker
    .register('/sw.js')
    .then(() => navigator.serviceWorker.ready)
    .then((registration) => {
      const loaded = performance
        .getEntriesByType('resource')
        .map((entry) => new URL(entry.name))
        .filter((url) => url.origin === location.origin)
        .map((url) => url.pathname);
      registration.active.postMessage({ type: 'keep', paths: ['/', ...new Set(loaded)] });
    })
    .catch((err) => {
      console.debug('lanrtc: no service worker', err);
    });
}
