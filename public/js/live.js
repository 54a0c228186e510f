// Going live: an ApplianceBroadcast sends one camera or screen once, to the
// appliance's media server, which forwards it to every viewer. Where there
// is none (MEDIA=off, or its port cannot be reached) a Broadcast streams to
// each viewer over its own RTCPeerConnection (send-only), admitting viewers
// without asking up to its cap. A Viewing is one viewer's receive-only
// connection, to the appliance or to the broadcaster's device; it needs no
// camera or microphone, and both answer it the same way.
//
// Neither touches the DOM. They report through the callbacks they are given
// and send signaling messages through `send`; main.js routes the messages of
// a stream (those with `data.stream`, and `watch`) to them.

import { offerToAppliance } from './applianceOffer.js';
import { CandidateQueue } from './logic/candidates.js';
import { deviceSendsSimulcast, layersFor } from './logic/meeting.js';
import { BROADCASTER, VIEWER, ViewerSlots, onStream, watch } from './logic/live.js';
import { accept, hangup, iceCandidate, reject } from './logic/protocol.js';

function stopStream(stream) {
  if (stream) for (const track of stream.getTracks()) track.stop();
}

/**
 * One RTCPeerConnection of a stream, either side: ICE candidates are held
 * back until our description has been sent, and the other side's are queued
 * until its description is set.
 */
class StreamLink {
  constructor({ peerId, side, iceServers, send, onState }) {
    this.peerId = peerId;
    this.side = side;
    this.send = send;
    this.pc = new RTCPeerConnection({ iceServers });
    this.remote = new CandidateQueue();
    this.outgoing = [];
    this.described = false;
    this.closed = false;
    this.pc.addEventListener('icecandidate', (e) => {
      const message = this.message(iceCandidate(peerId, e.candidate ? e.candidate.toJSON() : null));
      if (this.described) this.send(message);
      else this.outgoing.push(message);
    });
    this.pc.addEventListener('connectionstatechange', () => {
      if (!this.closed) onState(this.pc.connectionState);
    });
  }

  /** Our side's marker on a relayed message. */
  message(m) {
    return onStream(m, this.side);
  }

  /** Sends our description, then the candidates gathered meanwhile. */
  sendDescription(message) {
    if (!this.send(message)) throw new Error('the server connection was lost');
    this.described = true;
    for (const m of this.outgoing.splice(0)) this.send(m);
  }

  async setRemote(description) {
    await this.pc.setRemoteDescription(description);
    for (const c of this.remote.release()) await this.addCandidate(c);
  }

  async addCandidate(candidate) {
    if (!this.remote.add(candidate)) return;
    try {
      await this.pc.addIceCandidate(candidate || undefined);
    } catch (err) {
      console.warn('lanrtc: stream ICE candidate rejected', err);
    }
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.pc.close();
  }
}

export class Broadcast {
  /**
   * @param {object} o
   * @param {MediaStream} o.stream  what to send: camera (with microphone) or screen
   * @param {number} o.max  most viewers at once
   * @param {RTCIceServer[]} o.iceServers
   * @param {(message: object) => boolean} o.send
   * @param {() => void} o.onChange  the audience changed
   * @param {() => void} o.onSourceEnded  the camera or screen went away (e.g. the
   *   browser's own "Stop sharing" button)
   */
  constructor({ stream, max, iceServers, send, onChange, onSourceEnded }) {
    this.stream = stream;
    this.iceServers = iceServers;
    this.send = send;
    this.onChange = onChange;
    this.slots = new ViewerSlots(max);
    /** viewer id -> StreamLink */
    this.links = new Map();
    this.stopped = false;
    const video = stream.getVideoTracks()[0];
    if (video) video.addEventListener('ended', () => !this.stopped && onSourceEnded());
  }

  get max() {
    return this.slots.max;
  }

  get viewerIds() {
    return [...this.links.keys()];
  }

  /** A viewer's `watch`: answered at once, or turned away when full. */
  async onWatch(from, sdp) {
    if (this.stopped) return;
    const verdict = this.slots.admit(from);
    if (verdict === 'full') {
      this.send(onStream(reject(from, 'full'), BROADCASTER));
      return;
    }
    // A viewer that asks again (its page reloaded its stream) starts over.
    if (verdict === 'again') this.dropLink(from);
    const link = new StreamLink({
      peerId: from,
      side: BROADCASTER,
      iceServers: this.iceServers,
      send: this.send,
      onState: (state) => {
        if (state === 'failed' || state === 'closed') this.removeViewer(from);
      },
    });
    this.links.set(from, link);
    this.onChange();
    try {
      await link.setRemote({ type: 'offer', sdp });
      // The viewer's offer made one receive-only transceiver per kind; fill
      // each with our track of that kind, or turn it off (a screen has no
      // sound).
      for (const transceiver of link.pc.getTransceivers()) {
        const kind = transceiver.receiver.track.kind;
        const track = this.stream.getTracks().find((t) => t.kind === kind);
        if (track) {
          await transceiver.sender.replaceTrack(track);
          if (transceiver.sender.setStreams) transceiver.sender.setStreams(this.stream);
          transceiver.direction = 'sendonly';
        } else {
          transceiver.direction = 'inactive';
        }
      }
      const answer = await link.pc.createAnswer();
      await link.pc.setLocalDescription(answer);
      if (link.closed) return;
      link.sendDescription(link.message(accept(from, link.pc.localDescription.sdp)));
    } catch (err) {
      console.warn('lanrtc: could not answer a viewer', err);
      if (!link.closed) this.send(onStream(hangup(from, 'failed'), BROADCASTER));
      this.removeViewer(from);
    }
  }

  /** A message a viewer sent on this stream. */
  onViewerMessage(type, relay) {
    const link = this.links.get(relay.from);
    if (type === 'icecandidate') {
      if (link) link.addCandidate(relay.candidate);
    } else if (type === 'hangup') {
      this.removeViewer(relay.from);
    }
  }

  /** A viewer left the room (or its socket dropped). */
  removeViewer(id) {
    if (!this.slots.release(id)) return;
    this.dropLink(id);
    this.onChange();
  }

  dropLink(id) {
    const link = this.links.get(id);
    if (link) link.close();
    this.links.delete(id);
  }

  /** Ends the stream for every viewer; `tell` false when the server is gone anyway. */
  stop({ tell = true } = {}) {
    if (this.stopped) return;
    this.stopped = true;
    for (const [id, link] of this.links) {
      if (tell) this.send(link.message(hangup(id, 'stopped')));
      link.close();
    }
    this.links.clear();
    stopStream(this.stream);
  }
}

/** How long a viewer waits for the picture before it gives up and says so:
 * a broadcaster that never answers must not leave it "connecting" forever. */
export const WATCH_DEADLINE_MS = 15000;

export class Viewing {
  /**
   * @param {object} o
   * @param {{id: string, name: string}} o.broadcaster
   * @param {RTCIceServer[]} o.iceServers
   * @param {(message: object) => boolean} o.send
   * @param {(stream: MediaStream) => void} o.onStream  the broadcast's media arrived
   * @param {(reason: string) => void} o.onEnd  the stream ended on the other side or failed
   * @param {() => void} o.onChange  the connection state changed
   */
  constructor({ broadcaster, iceServers, send, onStream: gotStream, onEnd, onChange }) {
    this.broadcaster = broadcaster;
    this.onEnd = onEnd;
    this.ended = false;
    this.playing = false;
    /** 'appliance' or 'direct' once the answer came; null before. */
    this.via = null;
    this.link = new StreamLink({
      peerId: broadcaster.id,
      side: VIEWER,
      iceServers,
      send,
      onState: (state) => {
        if (state === 'connected') this.playing = true;
        if (state === 'failed') this.end('failed');
        else onChange();
      },
    });
    this.deadline = setTimeout(() => {
      if (!this.playing) this.giveUp('timeout');
    }, WATCH_DEADLINE_MS);
    this.remoteStream = new MediaStream();
    this.link.pc.addEventListener('track', (e) => {
      this.remoteStream.addTrack(e.track);
      gotStream(this.remoteStream);
    });
  }

  /** Sends the receive-only offer. */
  async start() {
    const pc = this.link.pc;
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    if (this.ended) return;
    this.link.sendDescription(watch(this.broadcaster.id, pc.localDescription.sdp));
  }

  /** A message the broadcaster sent on this stream. */
  async onBroadcasterMessage(type, relay) {
    if (this.ended) return;
    switch (type) {
      case 'accept':
        this.via = relay.via || 'direct';
        try {
          await this.link.setRemote({ type: 'answer', sdp: relay.sdp });
        } catch (err) {
          console.warn('lanrtc: the broadcaster answer was refused', err);
          this.stop();
          this.end('failed');
        }
        break;
      case 'icecandidate':
        this.link.addCandidate(relay.candidate);
        break;
      case 'reject':
      case 'hangup':
        this.end(relay.reason || 'stopped');
        break;
      default:
        break;
    }
  }

  /** The stream ended from the other side (or failed): close and report once. */
  end(reason) {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.deadline);
    this.link.close();
    this.onEnd(reason);
  }

  /** This side gives up (the deadline): frees its slot, then reports. */
  giveUp(reason) {
    if (this.ended) return;
    this.link.send(this.link.message(hangup(this.broadcaster.id)));
    this.end(reason);
  }

  /** This viewer stops watching: tells the broadcaster, which frees the slot. */
  stop() {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.deadline);
    this.link.send(this.link.message(hangup(this.broadcaster.id)));
    this.link.close();
  }
}

/** How long the appliance may take to answer and connect before the page
 * falls back to streaming from this device. A LAN connects in well under a
 * second; a blocked UDP port never does. */
export const APPLIANCE_DEADLINE_MS = 8000;

/**
 * Going live through the appliance: one send-only RTCPeerConnection to the
 * media server, which forwards the stream to every viewer. The device
 * encodes once, however many watch.
 */
export class ApplianceBroadcast {
  /**
   * @param {object} o
   * @param {MediaStream} o.stream
   * @param {(message: object) => boolean} o.send
   * @param {() => void} o.onSourceEnded  the camera or screen went away
   * @param {(reason: string) => void} o.onLost  the connection to the appliance failed once up
   */
  constructor({ stream, send, onSourceEnded, onLost }) {
    this.stream = stream;
    this.send = send;
    this.onLost = onLost;
    this.via = 'appliance';
    this.viewers = 0;
    this.stopped = false;
    this.up = false;
    this.pc = new RTCPeerConnection({ iceServers: [] });
    /** The publish in flight (applianceOffer.js). */
    this.offer = null;
    const video = stream.getVideoTracks()[0];
    if (video) video.addEventListener('ended', () => !this.stopped && onSourceEnded());
    this.pc.addEventListener('connectionstatechange', () => {
      const state = this.pc.connectionState;
      if (this.up && !this.stopped && (state === 'failed' || state === 'closed')) this.onLost('failed');
    });
  }

  /**
   * Offers the stream to the appliance and resolves once media flows;
   * rejects (and cleans up the connection, not the capture) on refusal or
   * after `deadlineMs`.
   */
  async start(deadlineMs = APPLIANCE_DEADLINE_MS) {
    // A laptop sends its video in layers, so each viewer gets what its
    // link carries (the appliance picks per viewer).
    const simulcast = typeof window !== 'undefined' && deviceSendsSimulcast(window);
    for (const track of this.stream.getTracks()) {
      const layers = track.kind === 'video' ? layersFor(track, simulcast) : {};
      this.pc.addTransceiver(track, { direction: 'sendonly', streams: [this.stream], ...layers });
    }
    this.offer = offerToAppliance(this.pc, this.send, publishMessage, deadlineMs);
    try {
      await this.offer.done;
      this.up = true;
    } catch (err) {
      this.pc.close();
      if (!this.stopped) this.send({ type: 'unpublish' });
      throw err;
    }
  }

  /** The server's `published` (its answer), or its refusal. */
  onAnswer(sdp) {
    if (this.offer) this.offer.answer(sdp);
  }

  onRefused(message) {
    if (this.offer) this.offer.refuse(message);
  }

  /** Ends the stream; `tell` false when the server is gone anyway. */
  stop({ tell = true } = {}) {
    if (this.stopped) return;
    this.stopped = true;
    if (tell) this.send({ type: 'unpublish' });
    this.pc.close();
    stopStream(this.stream);
  }
}

function publishMessage(sdp) {
  return { type: 'publish', data: { sdp } };
}
