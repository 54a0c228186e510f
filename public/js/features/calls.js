// The 1:1 call feature: dialling, ringing, answering, the call itself (its
// panel, chat, screen sharing, ICE restarts, the link's quality) and the
// missed-call list. It owns the call's state machine (logic/callState.js)
// and runs its effects; main.js routes the call's relayed messages here and
// asks it to render.

import { CallSession, MediaProblem } from '../call.js';
import { idleCall, transition } from '../logic/callState.js';
import { MODE_LABELS } from '../logic/media.js';
import { addMissed, callBackTarget, parseMissed } from '../logic/missed.js';
import { findPeer } from '../logic/peers.js';
import { accept, isObject, offer, reject, toMeetingMessage } from '../logic/protocol.js';
import { QUALITY_SAMPLE_MS, initialQuality, nextQuality, readSample } from '../logic/quality.js';
import { createCallPanel } from '../ui/callPanel.js';
import { createChat } from '../ui/chat.js';
import { createIncomingDialog } from '../ui/incomingDialog.js';
import { createMissedCalls } from '../ui/missedCalls.js';
import { createRinger } from '../ui/ringer.js';

const MISSED_KEY = 'lanrtc.missed';

/**
 * @param {object} ctx  what the feature needs from the page:
 *   send(message) → boolean, status ({show, clear}), render(),
 *   iceServers() → [], peers() → the peer list, connected() → boolean,
 *   canCall → boolean (this browser has WebRTC), $ (id → element)
 */
export function createCalls(ctx) {
  const { $ } = ctx;
  let call = idleCall;
  /** The current call's CallSession, from dial or incoming offer until teardown. */
  let session = null;
  /** The call's timers by name ('ring', 'link', 'peer', 'restart', 'quality'). */
  const timers = new Map();
  /** Fallback offered in the status line after a camera problem: {peer, modes, answer}. */
  let retry = null;
  /** Why answering failed, shown in the incoming dialog: {text, modes}. */
  let answerProblem = null;
  /** The link's quality while in a call (logic/quality.js). */
  let quality = initialQuality;
  let missed = loadMissed();

  const ringer = createRinger();

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
      onChoice: (mode) => retryWith(mode),
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
      addSomeone: $('add-someone-button'),
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
      onAddSomeone: () => {
        if (!session || call.state !== 'in-call' || !ctx.toMeeting) return;
        session.sendChannel(toMeetingMessage());
        session.movingToMeeting = true;
        ctx.toMeeting();
      },
    },
  );

  const chat = createChat({ form: $('chat-form'), input: $('chat-input'), log: $('chat-log') }, (text) => {
    if (!session || call.state !== 'in-call') return;
    session.sendChat(text);
    chat.add('You', text, true);
  });

  const missedCalls = createMissedCalls(
    { root: $('missed'), list: $('missed-list'), clear: $('missed-clear') },
    {
      onCallBack: (entry) => {
        const peer = callBackTarget(entry, ctx.peers());
        if (peer) dial(peer, 'full');
      },
      onClear: () => {
        missed = [];
        saveMissed();
        ctx.render();
      },
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
    ctx.render();
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
        ctx.send(effect.message);
        break;
      case 'channel-send':
        if (session) session.sendChannel(effect.message);
        break;
      case 'start-timer':
        startTimer('ring', effect.ms, () => dispatch({ type: 'timeout' }));
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
        startTimer('restart', effect.ms, () => dispatch({ type: 'restart-retry' }));
        break;
      case 'check-link':
        startTimer('link', effect.ms, () => dispatch({ type: 'link-check' }));
        break;
      case 'check-peer':
        startTimer('peer', effect.ms, () => dispatch({ type: 'peer-check' }));
        break;
      case 'teardown':
        teardown();
        break;
      case 'status':
        showCallStatus(effect);
        break;
      case 'missed':
        missed = addMissed(missed, effect.peer, Date.now());
        saveMissed();
        break;
      default:
        console.warn('lanrtc: unknown effect', effect);
    }
  }

  /** (Re)starts the timer `name`, which calls `fire` after `ms`. */
  function startTimer(name, ms, fire) {
    stopTimer(name);
    timers.set(
      name,
      setTimeout(() => {
        timers.delete(name);
        fire();
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
    quality = initialQuality;
    const s = new CallSession({
      peer,
      iceServers: ctx.iceServers(),
      send: ctx.send,
      relayable: () => Boolean(ctx.mediaOn && ctx.mediaOn()),
      on: {
        localStream: (stream, options) => session === s && panel.setLocalStream(stream, options),
        remoteStream: (stream) => session === s && panel.setRemoteStream(stream),
        link: (link) => {
          if (session !== s) return;
          // Moving to the meeting: the other side closing the call's
          // connection first (it saw us in the meeting sooner) is the move,
          // not it leaving.
          if (s.movingToMeeting && call.state === 'in-call' && (link.channel === 'closed' || link.connection === 'closed')) {
            dispatch({ type: 'moved' });
            return;
          }
          // Packets that went nowhere while the link was down are not a
          // poor link once it is back: measure afresh from here.
          if (typeof link.connection === 'string' && link.connection !== 'connected') quality = initialQuality;
          dispatch({ type: 'link-changed', ...link });
        },
        chat: (text) => session === s && chat.add(call.peer ? call.peer.name : s.peer.name, text, false),
        disconnect: () => session === s && dispatch({ type: 'channel-disconnect' }),
        toMeeting: () => {
          if (session !== s || call.state !== 'in-call' || !ctx.toMeeting) return;
          s.movingToMeeting = true;
          ctx.toMeeting();
        },
        media: () => session === s && ctx.render(),
      },
    });
    session = s;
    sampleQuality(s);
  }

  /** Reads the call's stats every few seconds while it lasts; "Poor connection" comes from here. */
  function sampleQuality(s) {
    startTimer('quality', QUALITY_SAMPLE_MS, async () => {
      if (session !== s) return;
      if (s.pc && call.state === 'in-call') {
        try {
          const next = nextQuality(quality, readSample(await s.pc.getStats()));
          if (session !== s) return;
          const changed = next.poor !== quality.poor;
          quality = next;
          if (changed) ctx.render();
        } catch (err) {
          console.debug('lanrtc: no call stats', err);
        }
      }
      if (session === s) sampleQuality(s);
    });
  }

  async function startCall(mode) {
    const s = session;
    if (!s) return;
    try {
      await s.acquireMedia(mode);
      if (s.closed) return;
      ctx.render();
      const sdp = await s.createOffer();
      if (s.closed) return;
      if (!ctx.send(offer(s.peer.id, sdp))) throw new Error('the server connection was lost');
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
      if (!ctx.send(accept(s.peer.id, answer))) throw new Error('the server connection was lost');
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
      if (sdp && session === s) ctx.send(offer(s.peer.id, sdp));
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
      if (answer && session === s) ctx.send(accept(s.peer.id, answer));
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
    for (const name of [...timers.keys()]) stopTimer(name);
    quality = initialQuality;
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
      ctx.status.clear('call');
      return;
    }
    const actions = retry ? retry.modes.map((mode) => ({ label: MODE_LABELS[mode], value: mode })) : [];
    ctx.status.show(text, { key: 'call', actions });
  }

  /** One of the ways offered after a camera problem (or "Call again"). */
  function retryWith(mode) {
    const r = retry;
    if (!r) return;
    if (r.answer) {
      if (call.state === 'ringing' && call.peer.id === r.peer.id) dispatch({ type: 'accept', mode });
      return;
    }
    if (call.state !== 'idle') return;
    const peer = findPeer(ctx.peers(), r.peer.id);
    if (!peer) {
      retry = null;
      ctx.status.show(`${r.peer.name} is no longer connected.`);
      return;
    }
    dispatch({ type: 'dial', peer, mode });
  }

  function dial(peer, mode) {
    // A sensible moment to ask: this person makes calls, so will get them.
    ringer.askForNotifications();
    dispatch({ type: 'dial', peer, mode });
  }

  async function switchCamera() {
    const s = session;
    if (!s) return;
    try {
      await s.switchCamera();
    } catch (err) {
      console.warn('lanrtc: camera switch failed', err);
      if (session === s) ctx.status.show('The camera could not be switched. Try again, or turn the camera off.');
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
      ctx.status.show(
        err && err.name === 'NotAllowedError'
          ? 'Screen sharing was not started.'
          : 'Screen sharing is not available here.',
      );
    }
  }

  function loadMissed() {
    try {
      return parseMissed(sessionStorage.getItem(MISSED_KEY) || '[]');
    } catch {
      return []; // storage off: the list lives as long as the page
    }
  }

  function saveMissed() {
    try {
      sessionStorage.setItem(MISSED_KEY, JSON.stringify(missed));
    } catch {
      // See loadMissed.
    }
  }

  /** The call's relayed messages, by type. */
  const relays = {
    offer(relay) {
      // Nothing here could answer it: say so at once instead of ringing.
      if (!ctx.canCall) {
        ctx.send(reject(relay.from, 'unsupported'));
        return;
      }
      // In a meeting, a call would take the camera from it: the caller hears
      // busy. (During a call the state machine answers others busy itself.)
      if (ctx.busy && ctx.busy() && call.state === 'idle') {
        ctx.send(reject(relay.from, 'busy'));
        return;
      }
      const peer = findPeer(ctx.peers(), relay.from) || { id: relay.from, name: 'Someone' };
      dispatch({ type: 'offer-received', peer, sdp: relay.sdp });
    },
    accept(relay) {
      dispatch({ type: 'answer-received', from: relay.from, sdp: relay.sdp });
    },
    reject(relay) {
      dispatch({ type: 'reject-received', from: relay.from, reason: relay.reason });
    },
    hangup(relay) {
      dispatch({ type: 'hangup-received', from: relay.from, reason: relay.reason });
    },
    icecandidate(relay) {
      if (session && call.state !== 'idle' && relay.from === session.peer.id) {
        session.addRemoteCandidate(relay.candidate);
      }
    },
  };

  return {
    dial,
    /** An option from the status line's actions. */
    retryWith,
    /** Ends whatever call is running (a live reload is coming): true when there was one. */
    hangUp() {
      if (call.state === 'idle') return false;
      dispatch({ type: 'hangup' });
      return true;
    },
    /**
     * The appliance's messages about a call it carries (client-isolated
     * Wi-Fi): `call-relay`, and `published`/`subscribed`/`unsubscribed`
     * for it. `owns` says whether one is ours.
     */
    relay: {
      owns(data) {
        const relay = session && session.relay;
        if (!relay || !isObject(data)) return false;
        return data.call === relay.peerId || data.source === relay.peerId;
      },
      callRelay(data) {
        const relay = session && session.relay;
        if (relay && isObject(data) && data.source === relay.peerId) relay.onPartner(data.publishing === true);
      },
      published(data) {
        if (session && session.relay && typeof data.sdp === 'string') session.relay.onPublished(data.sdp);
      },
      subscribed(data) {
        if (session && session.relay && typeof data.sdp === 'string') session.relay.onSubscribed(data.sdp);
      },
      unsubscribed(data) {
        if (session && session.relay) session.relay.onUnsubscribed(data.reason);
      },
      /** Our side's stream through the appliance failed: so did the call. */
      lost() {
        if (call.state === 'in-call' && session && session.relay) {
          dispatch({ type: 'failed', message: 'its connection through the appliance was lost' });
        }
      },
    },

    /** Both sides of the call are in the room's meeting: the call itself ends. */
    moved() {
      if (call.state === 'in-call') dispatch({ type: 'moved' });
    },
    /** The page is going away: close the call's connection at once. */
    close() {
      for (const name of [...timers.keys()]) stopTimer(name);
      if (session) session.close();
    },

    relays,

    /** A `peer` message's meaning for the call. */
    onPeer(data) {
      if (!isObject(data) || typeof data.id !== 'string') return;
      if (data.remove === true) dispatch({ type: 'peer-left', id: data.id });
      else if (typeof data.name === 'string') {
        // Back under a new id: the session's signaling (candidates, ICE
        // restarts) goes there too.
        if (typeof data.was === 'string' && session && session.peer.id === data.was) {
          session.peer = { id: data.id, name: data.name };
          session.restartRelay();
        }
        dispatch({ type: 'peer-updated', peer: { id: data.id, name: data.name }, was: data.was });
      }
    },

    /**
     * Our signaling is back under a new id, proved to the others: a call
     * carried through the appliance starts its streams there again (the
     * old connection's ended with it). A direct call needs nothing.
     */
    onRejoined() {
      if (session && call.state !== 'idle') session.restartRelay();
    },

    /** A server error about the call: true when it was one. */
    onError(error) {
      // Rejects go to callers we turned away as busy; one of those being gone
      // says nothing about our own call.
      if (error.code === 'unknown-target' && error.ref !== 'reject' && call.state !== 'idle') {
        dispatch({ type: 'target-gone' });
        return true;
      }
      return false;
    },

    get idle() {
      return call.state === 'idle';
    },
    get state() {
      return call.state;
    },
    get peer() {
      return call.peer;
    },
    /** The running call's camera and microphone, for going live during it. */
    get localStream() {
      return session ? session.localStream : null;
    },
    /** For diagnostics (and the browser tests). */
    get ringer() {
      return ringer.state;
    },
    get via() {
      return session ? session.via : null;
    },
    get remoteIceUfrag() {
      const sdp = session && session.pc && session.pc.remoteDescription ? session.pc.remoteDescription.sdp : '';
      const m = /a=ice-ufrag:(\S+)/.exec(sdp);
      return m ? m[1] : null;
    },

    render() {
      const peers = ctx.peers();
      ringer.render(call.state === 'ringing', call.peer ? call.peer.name : '');
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
        via: session ? session.via : 'direct',
        poor: quality.poor,
        connectedAt: session ? session.connectedAt : null,
        canAddSomeone: Boolean(ctx.canAddSomeone && ctx.canAddSomeone()) && session !== null && session.channelState === 'open',
      });
      missedCalls.render({
        entries: missed,
        reachable: (entry) => callBackTarget(entry, peers) !== null,
        canCall: ctx.canCall && ctx.connected() && call.state === 'idle',
      });
    },
  };
}
