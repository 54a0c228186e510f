// The shell: the signaling socket, routing each server message to the
// feature that owns it (a table from message type to handler), the name,
// and render(). Each feature keeps its own state and handles its own
// messages: features/calls.js (1:1 calls and missed calls),
// features/streams.js (going live and watching), features/rooms.js (the
// room and the link to share) and features/liveReload.js.
import { Signaling } from './signaling.js';
import { unsupportedText, webrtcSupport } from './logic/media.js';
import { cleanName, randomName } from './logic/names.js';
import { applyPeerMessage, findPeer, withLabels } from './logic/peers.js';
import { identify, isObject, readRelay } from './logic/protocol.js';
import { roomFromPath, socketUrl } from './logic/room.js';
import { createCalls } from './features/calls.js';
import { createLiveReload } from './features/liveReload.js';
import { createMeetings } from './features/meetings.js';
import { createRooms } from './features/rooms.js';
import { createStreams } from './features/streams.js';
import { createTransfers } from './features/transfers.js';
import { createLivePanel, createWatchPanel } from './ui/livePanels.js';
import { createMeetingPanel } from './ui/meetingPanel.js';
import { summaryText } from './logic/meeting.js';
import { createNameField } from './ui/nameField.js';
import { createPeerList } from './ui/peerList.js';
import { createWakeLock } from './ui/wakeLock.js';
import { createSignalState } from './ui/signalState.js';
import { createStatus } from './ui/status.js';
import { createTransferList } from './ui/transfers.js';

const NAME_KEY = 'lanrtc.name';

/**
 * A socket that fails this many times in a row without ever having opened
 * most likely hits a certificate this device does not trust (Safari, for
 * one, does not extend a page's certificate exception to WebSockets).
 */
const TRUST_HINT_AFTER = 3;

const $ = (id) => document.getElementById(id);

// ---- state ----

let peers = [];
let selfId = null;
/**
 * This page's latest connection ({id, token} from its `ready`): after a
 * drop, the next connection proves it was this device, so the others go on
 * with it (a transfer, a call) instead of seeing someone new.
 */
let earlier = null;
let iceServers = [];
let name = loadName();
/** What this browser can do: without WebRTC, no Call, Accept, Watch or Go live. */
const support = webrtcSupport(window);
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

const signaling = new Signaling(socketUrl(location.host, roomFromPath(location.pathname)));
const send = (message) => signaling.send(message);

const status = createStatus($('status'), $('status-actions'), (mode) => calls.retryWith(mode));
const signalState = createSignalState($('signal-state'));
const calls = createCalls({
  send,
  status,
  render: () => render(),
  iceServers: () => iceServers,
  peers: () => peers,
  connected: () => signaling.connected,
  canCall: support.calls,
  busy: () => meetings.busy,
  canAddSomeone: () => mediaOn && !meetings.busy,
  mediaOn: () => mediaOn,
  // "Add someone": this call moves into the room's meeting, on both sides.
  toMeeting: () => meetings.join({ stream: calls.localStream, peerId: calls.peer.id }),
  $,
});
const streams = createStreams({
  send,
  status,
  render: () => render(),
  self: () => ({ id: selfId, name }),
  iceServers: () => iceServers,
  mediaOn: () => mediaOn,
  callStream: () => calls.localStream,
  peerName: (id) => (findPeer(peers, id) || { name: 'someone' }).name,
});
const transfers = createTransfers({
  send,
  render: () => render(),
  iceServers: () => iceServers,
  peerName: (id) => (findPeer(peers, id) || { name: 'someone' }).name,
  connected: () => signaling.connected,
});
const meetings = createMeetings({
  send,
  status,
  render: () => render(),
  self: () => ({ id: selfId, name }),
  mediaOn: () => mediaOn,
  beforeJoin: () => {
    streams.stopLive();
    streams.stopWatching();
  },
  onCallMoved: () => calls.moved(),
});
const meetingPanel = createMeetingPanel(
  {
    root: $('meeting'),
    grid: $('meeting-grid'),
    count: $('meeting-count'),
    mute: $('meeting-mute'),
    camera: $('meeting-camera'),
    share: $('meeting-share'),
    leave: $('meeting-leave'),
    play: $('meeting-play'),
  },
  {
    mute: () => meetings.setMuted(!meetings.session.muted),
    camera: () => meetings.setCameraOff(!meetings.session.cameraOff),
    share: () => meetings.toggleScreen(),
    leave: () => meetings.leave(),
    pin: (id) => meetings.pin(id),
  },
);
$('start-meeting').addEventListener('click', () => meetings.join());
const transferList = createTransferList($('transfers'), $('transfer-list'), transfers);
const wakeLock = createWakeLock();

const unsupported = unsupportedText(support);
if (unsupported) {
  $('unsupported').textContent = unsupported;
  $('unsupported').hidden = false;
}

createNameField($('name'), name, (next) => {
  name = next;
  saveName(next);
  if (selfId) send(identify(selfId, next, streams.live));
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
    call: (peer) => calls.dial(peer, 'full'),
    watch: (peer) => streams.watch(peer),
    sendFiles: (peer, files) => transfers.sendFiles(peer, files),
    pickFiles: (peer, folder) => pickFiles(peer, folder),
    sendText: (peer) => askText(peer),
  },
);

/** The person picks files (or a folder) for `peer`; each pick is one transfer. */
function pickFiles(peer, folder) {
  const input = $(folder ? 'folder-input' : 'file-input');
  input.value = '';
  input.onchange = () => {
    transfers.sendFiles(peer, input.files);
    input.value = '';
  };
  input.click();
}

/** "Send text": a small dialog with a text field. */
function askText(peer) {
  const dialog = $('send-text');
  const field = $('send-text-input');
  $('send-text-title').textContent = `Send text to ${peer.name}`;
  field.value = '';
  dialog.onclose = () => {
    if (dialog.returnValue === 'send') transfers.sendText(peer, field.value);
  };
  dialog.returnValue = '';
  dialog.showModal();
  field.focus();
}

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
const rooms = createRooms({ peerList, $ });
const liveReload = createLiveReload(
  () => {
    streams.stopLive();
    streams.stopWatching();
    meetings.leave();
    return calls.hangUp();
  },
  () => transfers.busy,
);

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
    mediaOn = message.media === true;
    rooms.onReady(message);
    meetings.onReady();
    peers = [];
    const rejoin = earlier && earlier.id !== selfId ? earlier : null;
    if (selfId) signaling.send(identify(selfId, name, streams.live, rejoin));
    if (selfId && rejoin) calls.onRejoined();
    earlier = selfId && typeof message.rejoin === 'string' ? { id: selfId, token: message.rejoin } : null;
    transfers.onReady();
  }
  liveReload.onReady(message);
  // After the version check: a reload for new app files ends what a drop
  // interrupted instead of taking it up for a moment.
  if (!sameConnection && selfId) {
    meetings.onConnected();
    streams.onConnected();
  }
  render();
});

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
    meetings.onOffline();
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

/**
 * Who handles what: server messages by type, then relayed ones by type.
 * A relay tagged with a live-stream role (`stream`) is the streams
 * feature's whatever its type, since a viewer's offer is not a call.
 */
const serverMessages = {
  peer: onPeer,
  error: onServerError,
  ...streams.serverMessages,
  ...meetings.serverMessages,
  // The appliance's answers about our streams: a call it carries, a
  // meeting's, or going live.
  'call-relay': (data) => calls.relay.callRelay(data),
  published: (data) =>
    calls.relay.owns(data)
      ? calls.relay.published(data)
      : meetings.claims(data)
        ? meetings.onPublished(data)
        : streams.serverMessages.published(data),
  unpublished: (data) =>
    isObject(data) && data.call === true
      ? calls.relay.lost()
      : meetings.claims(data)
        ? meetings.onUnpublished(data)
        : streams.serverMessages.unpublished(data),
  subscribed: (data) => (calls.relay.owns(data) ? calls.relay.subscribed(data) : meetings.serverMessages.subscribed(data)),
  unsubscribed: (data) =>
    calls.relay.owns(data) ? calls.relay.unsubscribed(data) : meetings.serverMessages.unsubscribed(data),
  // A transfer's own relays: never a call's, whatever they carry.
  ...transfers.serverMessages,
};
const relayMessages = { ...streams.relays, ...calls.relays };

function onMessage(message) {
  if (Object.hasOwn(serverMessages, message.type)) {
    serverMessages[message.type](message.data);
    return;
  }
  const relay = readRelay(message);
  if (!relay) {
    console.warn('lanrtc: ignoring message', message);
    return;
  }
  if (streams.claims(relay)) {
    streams.onStreamRelay(message.type, relay);
    return;
  }
  if (Object.hasOwn(relayMessages, message.type)) relayMessages[message.type](relay);
}

function onPeer(data) {
  peers = applyPeerMessage(peers, data, selfId);
  streams.onPeer(data);
  calls.onPeer(data);
  transfers.onPeer(data);
  render();
}

function onServerError(data) {
  const error = isObject(data) ? data : {};
  console.warn(`lanrtc: server error ${error.code}: ${error.message}`, error.ref);
  if (!transfers.onError(error) && !meetings.onError(error) && !streams.onError(error)) calls.onError(error);
}

// ---- the page ----

function render() {
  document.body.dataset.callState = calls.state;
  const connected = signaling.connected;
  signalState.render(connected);
  const meetingView = meetings.view();
  const inMeeting = new Set(meetingView.room ? meetingView.room.members.map((m) => m.id) : []);
  peerList.render({
    peers: withLabels(peers),
    inMeeting,
    canCall: connected && calls.idle && !meetings.busy,
    // Why Call is greyed out, said on the button (its tooltip and description).
    callBlocked: !connected
      ? 'Waiting for the connection to the server'
      : !calls.idle
        ? 'You are in a call: hang up to call someone else'
        : meetings.busy
          ? 'You are in the meeting: leave it to make a call'
          : '',
    canWatch: connected,
    offerCalls: support.calls,
    offerWatch: support.watch,
  });
  const view = streams.view();
  transferList.render(transfers.view());
  livePanel.render(view.live);
  watchPanel.render(view.watching);
  document.body.dataset.live = streams.live ? 'on' : 'off';
  document.body.dataset.watchState = view.watchState;
  renderMeeting(meetingView, connected);
  $('go-live').hidden = streams.live || !support.calls || meetings.busy;
  $('go-live-screen').hidden = streams.live || !canShareScreen() || !support.calls || meetings.busy;
  $('go-live').disabled = $('go-live-screen').disabled = !connected;
  rooms.render({ busy: !calls.idle || streams.live || meetings.busy });
  calls.render();
  wakeLock.render(calls.state === 'in-call' || streams.live || streams.watching || meetings.inMeeting);
  const peer = calls.peer;
  const offering = transfers.asking;
  document.title =
    calls.state === 'ringing'
      ? `${peer.name} is calling \u00b7 lanrtc`
      : offering !== null
        ? `${offering} wants to send you files \u00b7 lanrtc`
        : calls.state === 'in-call'
          ? `In a call with ${peer.name} \u00b7 lanrtc`
          : meetings.inMeeting
            ? 'Meeting \u00b7 lanrtc'
            : streams.live
              ? 'Live \u00b7 lanrtc'
              : 'lanrtc';
}

/** The meeting panel, the "Start a meeting" / "Join the meeting" button and the line saying who is in. */
function renderMeeting(view, connected) {
  const nameOf = (id) => (id === selfId ? name : (findPeer(peers, id) || { name: 'Someone' }).name);
  const others = view.room ? view.room.members.filter((m) => m.id !== selfId) : [];
  const summary = $('meeting-summary');
  summary.hidden = view.session !== null || others.length === 0;
  summary.textContent = summaryText(others.map((m) => nameOf(m.id)));
  const button = $('start-meeting');
  const full = view.room && view.room.max !== null && view.room.members.length >= view.room.max;
  button.hidden = !view.offered || !support.calls || meetings.busy;
  button.disabled = !connected || Boolean(full) || !calls.idle;
  button.textContent = others.length === 0 ? 'Start a meeting' : full ? 'The meeting is full' : 'Join the meeting';
  document.body.dataset.meeting = view.session ? 'on' : 'off';
  const s = view.session;
  meetingPanel.render(
    s
      ? {
          members: view.room ? view.room.members : [],
          selfId,
          speaker: view.room ? view.room.speaker : null,
          pinned: view.pinned,
          nameOf,
          streamOf: (id) => s.streamOf(id),
          preview: s.preview,
          muted: s.muted,
          cameraOff: s.cameraOff,
          sharing: s.screen !== null,
        }
      : null,
  );
  // The appliance sends no layer wider than a tile shows.
  if (s) s.reportTiles(meetingPanel.tileWidths(selfId));
}

function canShareScreen() {
  return Boolean(navigator.mediaDevices && typeof navigator.mediaDevices.getDisplayMedia === 'function');
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') signaling.reconnectNow();
});
window.addEventListener('online', () => signaling.reconnectNow());
// Tiles change size with the window (a phone turned, a window resized).
window.addEventListener('resize', () => {
  if (meetings.inMeeting) render();
});
// Leaving the page ends the call's connection at once, so the other side
// sees "<name> left." within moments rather than after ICE gives up.
window.addEventListener('pagehide', () => {
  calls.close();
  meetings.leave();
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
      return calls.ringer;
    },
    get wakeLock() {
      return wakeLock.held;
    },
    /** This connection's id from the server. */
    get selfId() {
      return selfId;
    },
    /** Our meeting session, while we are in one. */
    get meeting() {
      return meetings.session;
    },
    /** The file transfers, as the page shows them. */
    get transfers() {
      return transfers.view();
    },
    /** How the running call flows: 'direct', or 'appliance' when it carries it. */
    get callVia() {
      return calls.via;
    },
    /** The other side's ICE username fragment: it changes on an ICE restart. */
    get remoteIceUfrag() {
      return calls.remoteIceUfrag;
    },
  }),
});

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
