// The call state machine: what one device is doing about a call, and what
// must happen when something occurs. Pure: `transition(call, event)` returns
// the next call and a list of effects for the page to carry out (messages to
// send, media to start or stop, timers, sentences for the status line).
// No DOM access, no timers, no I/O.
//
// States (also the value of <body data-call-state>):
//   idle     no call
//   calling  we dialled; waiting for the other side to answer
//   ringing  someone is calling us; the incoming-call dialog is shown
//   in-call  the call was answered
//
// Events, from the person (dial, accept, decline, cancel, hangup), from the
// peer through the server (offer-received, answer-received, reject-received,
// hangup-received, peer-left, peer-updated (with `was` when the peer came
// back under a new id), target-gone), from the media
// layer (offer-sent, answer-sent, media-failed, failed, link-changed,
// channel-disconnect) and from timers (timeout, link-check, peer-check).
//
// Effects:
//   {type:'open-session', peer}            prepare per-call state (queues ICE)
//   {type:'start-call', peer, mode}        get media, create the offer, send it
//   {type:'answer-call', peer, sdp, mode}  get media, answer `sdp`, send accept
//   {type:'apply-answer', sdp}             set the remote answer
//   {type:'send', message}                 a signaling message (protocol.js)
//   {type:'channel-send', message}         a data-channel message
//   {type:'start-timer', ms} / {type:'stop-timer'}   the ring timer
//   {type:'check-link', ms}                dispatch link-check after `ms`
//   {type:'check-peer', ms}                dispatch peer-check after `ms`
//   {type:'restart-ice'}                   offer new ICE credentials (caller)
//   {type:'retry-restart', ms}             dispatch restart-retry after `ms`
//   {type:'answer-restart', sdp}           answer the caller's restart offer
//   {type:'teardown'}                      stop media, close the connection
//   {type:'status', text, retry?}          a sentence for the status line;
//                                          retry = {peer, modes, answer}
//                                          offers fallback buttons

import { describeMediaProblem, isMode, retryModes } from './media.js';
import { disconnectMessage, hangup, reject } from './protocol.js';

/** An unanswered call ends as missed after this long. */
export const RING_TIMEOUT_MS = 30_000;

/**
 * The callee's own timer runs a little longer than the caller's, so that
 * normally the caller's "hangup" (reason "timeout") ends the ringing and the
 * callee's timer only matters when that message is lost.
 */
export const CALLEE_TIMEOUT_MS = RING_TIMEOUT_MS + 2_000;

/**
 * After the server says the peer in a running call left, how long to wait
 * for the peer-to-peer link to confirm it. The link staying up means the peer
 * only lost the signaling connection (it will come back with a new id), and
 * the call goes on.
 */
export const LINK_GRACE_MS = 4_000;

/**
 * A running call whose link is "disconnected" this long (or at once when it
 * is "failed") gets an ICE restart: the caller offers new candidates over
 * the server, the callee answers. A Wi-Fi blip or a new address is survived.
 */
export const DISCONNECT_GRACE_MS = 3_000;

/** How long the link may stay down, restarts and all, before the call is lost. */
export const RESTART_MS = 20_000;

/**
 * While the link stays down the caller restarts again this often: a restart
 * made while the network is still cut cannot succeed, so the one made
 * after it returns must not wait for the deadline.
 */
export const RESTART_RETRY_MS = 4_000;

export const STATES = Object.freeze(['idle', 'calling', 'ringing', 'in-call']);

const NO_LINK = Object.freeze({ connection: 'new', channel: 'connecting' });

/** The state of a device with no call. */
export const idleCall = Object.freeze({
  state: 'idle',
  peer: null, // {id, name} of the other side
  mode: null, // media mode: full | audio | recvonly
  offer: null, // the caller's SDP, while ringing
  answering: false, // ringing, and Accept was pressed
  peerSignalingGone: false, // in-call, and the server announced the peer removed
  goneWhileDown: false, // ... while the link was already down (the grace then waits for a rejoin)
  link: NO_LINK, // last reported peer-connection and data-channel states
  caller: false, // this side dialled (it is the one that restarts ICE)
  restarting: false, // in-call, the link dropped and an ICE restart is under way
});

/** True when media and chat flow between the two devices. */
export function linkUp(link) {
  return link.connection === 'connected' && link.channel === 'open';
}

const ELLIPSIS = '\u2026';

function status(text, extra) {
  return { type: 'status', text, ...extra };
}

/** Ends the call: `before` runs first (it may still need the connection). */
function finish(text, before = [], extra = {}) {
  return {
    call: idleCall,
    effects: [...before, { type: 'stop-timer' }, { type: 'teardown' }, status(text, extra)],
  };
}

/**
 * A call that rang here and ended unanswered: recorded as missed. Not one we
 * declined, nor one we were already answering.
 */
function missed(call) {
  return call.answering ? [] : [{ type: 'missed', peer: call.peer }];
}

function stay(call, effects = []) {
  return { call, effects };
}

function busy(event) {
  const id = event.peer && event.peer.id;
  return typeof id === 'string' ? [{ type: 'send', message: reject(id, 'busy') }] : [];
}

function rejectText(name, reason) {
  switch (reason) {
    case 'declined':
      return `${name} declined the call.`;
    case 'busy':
      return `${name} is busy.`;
    case 'timeout':
      return `No answer from ${name}.`;
    case 'unsupported':
      return `${name}'s browser cannot take calls.`;
    default:
      return `${name} could not take the call.`;
  }
}

function modeOf(event) {
  return isMode(event.mode) ? event.mode : 'full';
}

/** The next call and the effects of `event` happening during `call`. */
export function transition(call, event) {
  if (!event || typeof event.type !== 'string') return stay(call);

  // Renames apply in every state.
  if (event.type === 'peer-updated') {
    const p = event.peer;
    if (!call.peer || !p) return stay(call);
    // `was`: the other side is back on a new signaling connection and the
    // server checked it is the same device; the call goes on with its new
    // id (an ICE restart can reach it again).
    if (typeof event.was === 'string' && event.was === call.peer.id && p.id !== call.peer.id) {
      return stay({ ...call, peer: { id: p.id, name: p.name }, peerSignalingGone: false, goneWhileDown: false });
    }
    if (p.id === call.peer.id && p.name !== call.peer.name) {
      return stay({ ...call, peer: { id: p.id, name: p.name } });
    }
    return stay(call);
  }

  switch (call.state) {
    case 'idle':
      return fromIdle(call, event);
    case 'calling':
      return fromCalling(call, event);
    case 'ringing':
      return fromRinging(call, event);
    case 'in-call':
      return fromInCall(call, event);
    default:
      return stay(idleCall);
  }
}

function fromIdle(call, event) {
  switch (event.type) {
    case 'dial': {
      const peer = event.peer;
      if (!peer || typeof peer.id !== 'string') return stay(call);
      const mode = modeOf(event);
      const next = {
        ...idleCall,
        state: 'calling',
        peer: { id: peer.id, name: peer.name },
        mode,
        caller: true,
      };
      return stay(next, [
        { type: 'open-session', peer: next.peer },
        { type: 'start-call', peer: next.peer, mode },
        status(`Calling ${peer.name}${ELLIPSIS}`),
      ]);
    }
    case 'offer-received': {
      const peer = event.peer;
      if (!peer || typeof peer.id !== 'string' || typeof event.sdp !== 'string') return stay(call);
      const next = {
        ...idleCall,
        state: 'ringing',
        peer: { id: peer.id, name: peer.name },
        offer: event.sdp,
      };
      return stay(next, [
        { type: 'open-session', peer: next.peer },
        { type: 'start-timer', ms: CALLEE_TIMEOUT_MS },
        status(`Incoming call from ${peer.name}.`),
      ]);
    }
    case 'answer-received':
      // An answer to a call we no longer make (it timed out, or we cancelled
      // while it crossed): tell that device so it does not wait in a dead call.
      return typeof event.from === 'string'
        ? stay(call, [{ type: 'send', message: hangup(event.from) }])
        : stay(call);
    default:
      return stay(call);
  }
}

function fromCalling(call, event) {
  const name = call.peer.name;
  const id = call.peer.id;
  const fromPeer = event.from === id;
  switch (event.type) {
    case 'offer-sent':
      return stay(call, [{ type: 'start-timer', ms: RING_TIMEOUT_MS }]);
    case 'media-failed': {
      const kind = event.kind || 'other';
      return finish(describeMediaProblem(kind, call.mode), [], {
        retry: { peer: call.peer, modes: retryModes(kind, call.mode), answer: false },
      });
    }
    case 'answer-received':
      if (!fromPeer) {
        return typeof event.from === 'string'
          ? stay(call, [{ type: 'send', message: hangup(event.from) }])
          : stay(call);
      }
      if (typeof event.sdp !== 'string') return stay(call);
      return stay({ ...call, state: 'in-call' }, [
        { type: 'stop-timer' },
        { type: 'apply-answer', sdp: event.sdp },
        status(`In a call with ${name}.`),
      ]);
    case 'reject-received':
      return fromPeer ? finish(rejectText(name, event.reason)) : stay(call);
    case 'hangup-received':
      return fromPeer ? finish(`${name} ended the call.`) : stay(call);
    case 'offer-received':
      return stay(call, busy(event));
    case 'timeout':
      return finish(`No answer from ${name}.`, [
        { type: 'send', message: hangup(id, 'timeout') },
      ]);
    case 'cancel':
    case 'hangup':
      return finish('Call cancelled.', [{ type: 'send', message: hangup(id) }]);
    case 'peer-left':
      return event.id === id ? finish(`${name} left.`) : stay(call);
    case 'target-gone':
      return finish(`${name} is no longer connected.`);
    case 'failed':
      return finish(`The call could not be set up: ${event.message || 'unknown error'}.`, [
        { type: 'send', message: hangup(id) },
      ]);
    case 'link-changed':
      return stay({ ...call, link: readLink(call.link, event) });
    default:
      return stay(call);
  }
}

function fromRinging(call, event) {
  const name = call.peer.name;
  const id = call.peer.id;
  const fromPeer = event.from === id;
  switch (event.type) {
    case 'accept': {
      if (call.answering) return stay(call);
      const mode = modeOf(event);
      return stay({ ...call, answering: true, mode }, [
        { type: 'answer-call', peer: call.peer, sdp: call.offer, mode },
        status(`Connecting to ${name}${ELLIPSIS}`),
      ]);
    }
    case 'media-failed': {
      const kind = event.kind || 'other';
      return stay({ ...call, answering: false }, [
        status(describeMediaProblem(kind, call.mode, 'answer'), {
          retry: { peer: call.peer, modes: retryModes(kind, call.mode), answer: true },
        }),
      ]);
    }
    case 'answer-sent':
      return stay({ ...call, state: 'in-call', answering: false, offer: null }, [
        { type: 'stop-timer' },
        status(`In a call with ${name}.`),
      ]);
    case 'decline':
    case 'hangup':
      return finish(`You declined the call from ${name}.`, [
        { type: 'send', message: reject(id, 'declined') },
      ]);
    case 'timeout':
      return finish(`Missed call from ${name}.`, [
        { type: 'send', message: reject(id, 'timeout') },
        ...missed(call),
      ]);
    case 'hangup-received':
      if (!fromPeer) return stay(call);
      return finish(
        event.reason === 'timeout' ? `Missed call from ${name}.` : `${name} cancelled the call.`,
        [...missed(call)],
      );
    case 'offer-received':
      return stay(call, busy(event));
    case 'peer-left':
      return event.id === id ? finish(`${name} left.`, [...missed(call)]) : stay(call);
    case 'target-gone':
      return call.answering ? finish(`${name} is no longer connected.`) : stay(call);
    case 'failed':
      return finish(`The call could not be set up: ${event.message || 'unknown error'}.`, [
        { type: 'send', message: reject(id, 'failed') },
      ]);
    case 'link-changed':
      return stay({ ...call, link: readLink(call.link, event) });
    default:
      return stay(call);
  }
}

function fromInCall(call, event) {
  const name = call.peer.name;
  const id = call.peer.id;
  const fromPeer = event.from === id;
  const left = `${name} left.`;
  switch (event.type) {
    case 'hangup':
    case 'cancel': {
      // The server may no longer know the peer's id (it reconnected); the
      // data channel reaches it regardless.
      const before = [{ type: 'channel-send', message: disconnectMessage() }];
      if (!call.peerSignalingGone) before.unshift({ type: 'send', message: hangup(id) });
      return finish(`Call with ${name} ended.`, before);
    }
    case 'hangup-received':
      return fromPeer ? finish(`${name} ended the call.`) : stay(call);
    case 'moved':
      // Both sides are in the room's meeting now: the direct connection
      // ends without a hangup, which would read as "ended the call".
      return finish(`The call with ${name} is now a meeting: anyone in this room can join it.`);
    case 'channel-disconnect':
      return finish(`${name} ended the call.`);
    case 'offer-received':
      // From the other side of this call: its ICE restart, to be answered.
      if (event.peer && event.peer.id === id && typeof event.sdp === 'string') {
        // A restart deadline of its own, unless one is running: a pending
        // grace check must not find "restarting" and call the call lost.
        return stay({ ...call, restarting: true }, [
          { type: 'answer-restart', sdp: event.sdp },
          ...(call.restarting ? [] : [{ type: 'check-link', ms: RESTART_MS }]),
        ]);
      }
      return stay(call, busy(event));
    case 'answer-received':
      // The answer to one of our ICE restarts, also one that arrives after
      // the link came back by itself (the session applies it only while an
      // offer is outstanding, and a stale one is dropped, not fatal).
      if (fromPeer && typeof event.sdp === 'string') {
        return stay(call, [{ type: 'apply-restart-answer', sdp: event.sdp }]);
      }
      return stay(call);
    case 'peer-left':
      if (event.id !== id) return stay(call);
      // Up: the link tells within the grace whether the peer is gone or
      // only lost the server.
      if (linkUp(call.link)) {
        return stay({ ...call, peerSignalingGone: true }, [{ type: 'check-link', ms: LINK_GRACE_MS }]);
      }
      // Down: the peer may be back under a new id (was) within as long as
      // a restart may take (noticing its own drop takes it a while), to
      // restart the link with; if not, the call is over. Its own timer, so
      // a restart's deadline keeps running.
      return stay({ ...call, peerSignalingGone: true, goneWhileDown: true }, [
        { type: 'check-peer', ms: RESTART_MS },
      ]);
    case 'peer-check':
      return call.peerSignalingGone && call.goneWhileDown ? finish(left) : stay(call);
    case 'restart-retry':
      if (!call.restarting || !call.caller || call.link.connection === 'connected') return stay(call);
      return stay(call, [{ type: 'restart-ice' }, { type: 'retry-restart', ms: RESTART_RETRY_MS }]);
    case 'link-check':
      // Up at the deadline (a callee that answered a restart while its own
      // link never dropped): the restart is over.
      if (linkUp(call.link)) return stay({ ...call, restarting: false });
      if (call.peerSignalingGone && !call.goneWhileDown) return finish(left);
      if (call.restarting) return lost(call);
      return call.link.connection === 'disconnected' ? restart(call) : stay(call);
    case 'link-changed': {
      const link = readLink(call.link, event);
      const next = { ...call, link };
      if (link.channel === 'closed') return finish(left);
      if (call.peerSignalingGone) {
        // Down when the peer left, and up again by itself: the peer only
        // lost the server, as when it left with the link up.
        if (call.goneWhileDown && linkUp(link)) {
          return stay({ ...next, goneWhileDown: false, restarting: false }, [status(`In a call with ${name}.`)]);
        }
        // A link that was up and then drops confirms the peer left; one
        // already down says nothing new.
        return !call.goneWhileDown && (link.connection === 'failed' || link.connection === 'disconnected')
          ? finish(left)
          : stay(next);
      }
      if (linkUp(link) && call.restarting) {
        return stay({ ...next, restarting: false }, [status(`In a call with ${name}.`)]);
      }
      if (link.connection === 'failed' && !call.restarting) return restart(next);
      if (link.connection === 'disconnected' && !call.restarting && call.link.connection !== 'disconnected') {
        return stay(next, [{ type: 'check-link', ms: DISCONNECT_GRACE_MS }]);
      }
      return stay(next);
    }
    case 'failed':
      return finish(`The call failed: ${event.message || 'unknown error'}.`, [
        { type: 'send', message: hangup(id) },
        { type: 'channel-send', message: disconnectMessage() },
      ]);
    default:
      return stay(call);
  }
}

/**
 * The link dropped while the peer is still on the server: the caller
 * restarts ICE (the callee waits for its offer), and both give it
 * RESTART_MS before calling the call lost.
 */
function restart(call) {
  return stay({ ...call, restarting: true }, [
    ...(call.caller ? [{ type: 'restart-ice' }, { type: 'retry-restart', ms: RESTART_RETRY_MS }] : []),
    { type: 'check-link', ms: RESTART_MS },
    status(`Reconnecting to ${call.peer.name}${ELLIPSIS}`),
  ]);
}

/** The restart did not bring the link back: the call ends, "Call again" offered. */
function lost(call) {
  return finish(
    `The connection to ${call.peer.name} was lost.`,
    [{ type: 'send', message: hangup(call.peer.id) }],
    { retry: { peer: call.peer, modes: ['full'], answer: false } },
  );
}

function readLink(link, event) {
  return {
    connection: typeof event.connection === 'string' ? event.connection : link.connection,
    channel: typeof event.channel === 'string' ? event.channel : link.channel,
  };
}

/** The words a person sees for an RTCPeerConnection's connectionState (and a poor link, see logic/quality.js). */
export function connectionText(state, poor = false) {
  switch (state) {
    case 'connected':
      return poor ? 'Poor connection' : 'Connected';
    case 'disconnected':
      return 'Reconnecting\u2026';
    case 'failed':
      return 'Connection lost';
    case 'closed':
      return 'Ended';
    default:
      return 'Connecting\u2026';
  }
}
