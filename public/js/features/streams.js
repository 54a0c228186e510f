// The live-stream feature: going live (through the appliance, or from this
// device when it has no media server or cannot be reached), and watching
// someone else's stream. It owns its state (our broadcast, the stream we
// watch) and handles its own messages; main.js only routes messages here
// and asks what to show.

import { KeptTracks } from '../keptTracks.js';
import { ApplianceBroadcast, Broadcast, Viewing } from '../live.js';
import { describeLiveProblem, mediaProblemKind } from '../logic/media.js';
import { identify, isObject, reject } from '../logic/protocol.js';
import {
  BROADCASTER,
  VIEWER,
  applianceAudienceText,
  audienceText,
  endedText,
  maxViewers,
  onStream,
} from '../logic/live.js';

/**
 * @param {object} ctx  what the feature needs from the page:
 *   send(message) → boolean, status ({show, clear}), render(),
 *   self() → {id, name} (id null while not connected), iceServers() → [],
 *   mediaOn() → boolean (the appliance forwards streams),
 *   callStream() → the running call's MediaStream or null,
 *   peerName(id) → string
 */
/** How long after a drop a live stream, or watching one, is taken up again by itself. */
const RESUME_MS = 60_000;

export function createStreams(ctx) {
  /** Our stream, while we are live. */
  let broadcast = null;
  /** The stream we watch, while we watch one. */
  let viewing = null;
  /** Its media, once it arrives. */
  let watchedStream = null;
  /**
   * What a dropped connection interrupted, to take up again by itself
   * within RESUME_MS: our stream (KeptTracks) and the broadcaster we
   * watched, {id, at}.
   */
  let resumeLive = null;
  let rewatch = null;

  function dropResumeLive() {
    if (!resumeLive) return;
    resumeLive.drop();
    resumeLive = null;
  }

  async function goLive(source, kept = null) {
    if (broadcast || !ctx.self().id) {
      if (kept) for (const t of kept.getTracks()) t.stop();
      return;
    }
    if (!kept) dropResumeLive();
    let stream;
    try {
      stream = kept || (await capture(source));
    } catch (err) {
      console.warn('lanrtc: could not go live', err);
      ctx.status.show(describeLiveProblem(mediaProblemKind(err), source), { key: 'live' });
      return;
    }
    if (broadcast || !ctx.self().id) {
      for (const track of stream.getTracks()) track.stop();
      return;
    }
    ctx.status.clear('live');
    if (ctx.mediaOn()) {
      const b = new ApplianceBroadcast({
        stream,
        send: ctx.send,
        onSourceEnded: () => stopLive(),
        onLost: () => {
          stopLive();
          ctx.status.show('Your live stream stopped: the connection to the appliance was lost.', { key: 'live' });
        },
      });
      broadcast = b;
      ctx.render();
      try {
        await b.start();
      } catch (err) {
        if (broadcast !== b) return; // stopped meanwhile
        console.warn('lanrtc: the appliance did not take the stream', err);
        broadcast = fromDevice(stream);
        ctx.status.show(
          `The appliance\u2019s media server could not be reached (${err.message}), so you stream from this device, to at most ${broadcast.max} viewers.`,
          { key: 'live' },
        );
      }
    } else {
      broadcast = fromDevice(stream);
    }
    const me = ctx.self();
    ctx.send(identify(me.id, me.name, true));
    ctx.render();
  }

  /** Streaming from this device to each viewer (no media server). */
  function fromDevice(stream) {
    return new Broadcast({
      stream,
      max: maxViewers(navigator),
      iceServers: ctx.iceServers(),
      send: ctx.send,
      onChange: ctx.render,
      onSourceEnded: () => stopLive(),
    });
  }

  /** The camera (with the microphone when there is one), or the screen. */
  async function capture(source) {
    const devices = navigator.mediaDevices;
    if (source === 'screen') return devices.getDisplayMedia({ video: true, audio: true });
    // During a call, the call's camera and microphone are shared, not opened
    // again: iOS stops the first capture when a second one starts.
    const call = ctx.callStream();
    const running = call ? call.getTracks().filter((t) => t.readyState === 'live') : [];
    if (running.some((t) => t.kind === 'video')) return new MediaStream(running.map((t) => t.clone()));
    try {
      return await devices.getUserMedia({ video: true, audio: true });
    } catch (err) {
      if (err && err.name === 'NotAllowedError') throw err;
      return devices.getUserMedia({ video: true });
    }
  }

  /** Ends our stream for every viewer; `tell` is false when the server is gone. */
  function stopLive({ tell = true } = {}) {
    if (!broadcast) return;
    broadcast.stop({ tell });
    broadcast = null;
    const me = ctx.self();
    if (tell && me.id) ctx.send(identify(me.id, me.name, false));
    ctx.render();
  }

  async function watch(peer) {
    if (viewing && viewing.broadcaster.id === peer.id) return;
    rewatch = null;
    stopWatching();
    ctx.status.clear('watch');
    const v = new Viewing({
      broadcaster: peer,
      iceServers: ctx.iceServers(),
      send: ctx.send,
      onStream: (stream) => {
        if (viewing !== v) return;
        watchedStream = stream;
        ctx.render();
      },
      onEnd: (reason) => {
        if (viewing !== v) return;
        viewing = null;
        watchedStream = null;
        // Not ended on purpose: watched again if it comes back soon.
        rewatch = ['left', 'failed', 'offline'].includes(reason) ? { id: peer.id, at: Date.now() } : null;
        ctx.status.show(endedText(peer.name, reason), { key: 'watch' });
        ctx.render();
      },
      onChange: ctx.render,
    });
    viewing = v;
    ctx.render();
    try {
      await v.start();
    } catch (err) {
      console.warn('lanrtc: could not start watching', err);
      v.end('failed');
    }
  }

  function stopWatching() {
    rewatch = null;
    if (!viewing) return;
    viewing.stop();
    viewing = null;
    watchedStream = null;
    ctx.render();
  }

  function liveText(b) {
    if (b instanceof ApplianceBroadcast) {
      if (!b.up) return 'Connecting to the appliance\u2026';
      return applianceAudienceText(b.viewers);
    }
    const names = b.viewerIds.map((id) => ctx.peerName(id));
    const line = audienceText(names.length, b.max);
    return names.length ? `${line} Watching: ${names.join(', ')}.` : line;
  }

  /** The appliance's answers to our publish, by message type. */
  const serverMessages = {
    published(data) {
      if (broadcast instanceof ApplianceBroadcast && isObject(data) && typeof data.sdp === 'string') {
        broadcast.onAnswer(data.sdp);
      }
    },
    unpublished() {
      if (broadcast instanceof ApplianceBroadcast) broadcast.onLost('failed');
    },
    audience(data) {
      if (broadcast instanceof ApplianceBroadcast && isObject(data) && Number.isInteger(data.viewers)) {
        broadcast.viewers = data.viewers;
        ctx.render();
      }
    },
  };

  return {
    goLive,
    /** Stopping on purpose (or the page going away) also gives up a pending resume. */
    stopLive(options) {
      dropResumeLive();
      stopLive(options);
    },
    watch,
    stopWatching,

    /** The message types this feature answers that are not relays. */
    serverMessages,

    /** Relayed messages this feature answers, by type. */
    relays: {
      watch(relay) {
        if (broadcast instanceof Broadcast) broadcast.onWatch(relay.from, relay.sdp);
        else ctx.send(onStream(reject(relay.from, 'not-live'), BROADCASTER));
      },
    },

    /** A relay that belongs to a live stream (tagged with its role), whatever its type. */
    claims(relay) {
      return relay.stream === VIEWER || relay.stream === BROADCASTER;
    },

    /** A claimed relay: a viewer's message to our broadcast, or the broadcaster's to us. */
    onStreamRelay(type, relay) {
      if (relay.stream === VIEWER) {
        if (broadcast instanceof Broadcast) broadcast.onViewerMessage(type, relay);
      } else if (viewing && relay.from === viewing.broadcaster.id) {
        viewing.onBroadcasterMessage(type, relay);
      }
    },

    /** A `peer` message's meaning for our stream and the one we watch. */
    onPeer(data) {
      if (!isObject(data) || typeof data.id !== 'string') return;
      if (viewing && data.id === viewing.broadcaster.id) {
        if (data.remove === true) viewing.end('left');
        else if (data.live !== true) viewing.end('stopped');
      }
      if (broadcast instanceof Broadcast && data.remove === true) broadcast.removeViewer(data.id);
      // The broadcaster we lost is live again (perhaps under a new id).
      if (
        rewatch &&
        !viewing &&
        data.live === true &&
        typeof data.name === 'string' &&
        (data.id === rewatch.id || data.was === rewatch.id)
      ) {
        const recent = Date.now() - rewatch.at < RESUME_MS;
        rewatch = null;
        if (recent) watch({ id: data.id, name: data.name, live: true });
      }
    },

    /** A server error about our streams: true when it was one. */
    onError(error) {
      if (error.ref === 'publish' && broadcast instanceof ApplianceBroadcast) {
        broadcast.onRefused(error.message);
        return true;
      }
      if (error.code === 'unknown-target' && error.ref === 'watch') {
        if (viewing) viewing.end('left');
        return true;
      }
      return false;
    },

    /** The server connection was lost: our viewers are gone, and so is what we watch. */
    onOffline() {
      if (broadcast) {
        dropResumeLive();
        const kept = new KeptTracks(broadcast.stream, RESUME_MS, () => {
          if (resumeLive !== kept) return;
          resumeLive = null;
          ctx.status.show('Your live stream stopped: the connection to the server was lost.', { key: 'live' });
        });
        resumeLive = kept;
        stopLive({ tell: false });
        ctx.status.show(
          'Your live stream stopped: the connection to the server was lost. It starts again when the connection is back\u2026',
          { key: 'live' },
        );
      }
      if (viewing) viewing.end('offline');
    },

    /** Connected and identified again: our stream goes live again. */
    onConnected() {
      if (!resumeLive) return;
      const back = resumeLive;
      resumeLive = null;
      const stream = back.take();
      if (!stream || stream.getVideoTracks().length === 0) {
        back.drop();
        ctx.status.show('Your live stream stopped: the connection to the server was lost.', { key: 'live' });
        return;
      }
      // The broadcast owns these copies from now on.
      goLive(null, stream).catch((err) => console.warn('lanrtc: could not go live again', err));
    },

    get live() {
      return broadcast !== null;
    },
    get watching() {
      return viewing !== null;
    },
    /** For diagnostics (and the browser tests). */
    get broadcast() {
      return broadcast;
    },

    /** What the live and watch panels show. */
    view() {
      return {
        live: broadcast ? { stream: broadcast.stream, text: liveText(broadcast) } : null,
        watching: viewing
          ? { name: viewing.broadcaster.name, stream: watchedStream, playing: viewing.playing, via: viewing.via }
          : null,
        watchState: !viewing ? 'idle' : viewing.playing ? 'watching' : 'connecting',
      };
    },
  };
}
