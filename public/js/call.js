// One call's media and RTCPeerConnection: capturing the camera and
// microphone, the offer/answer exchange, ICE candidates (queued until the
// remote description is set), the chat data channel, and the in-call
// controls (mute, camera, switch camera, screen sharing).
//
// A session never changes the call state itself; it reports through the
// callbacks it was given and main.js turns reports into state-machine events.

import { CallRelay, DIRECT_WAIT_MS } from './callRelay.js';
import { CandidateQueue } from './logic/candidates.js';
import { constraintsFor, mediaProblemKind, nextCamera } from './logic/media.js';
import {
  MAX_CHAT_CHARS,
  chatMessage,
  iceCandidate,
  mediaMessage,
  parseChannelMessage,
} from './logic/protocol.js';

/** Chat lines typed before the data channel opens wait in a queue this long at most. */
const MAX_QUEUED_CHAT = 50;

/**
 * After "disconnect" has been written to the data channel, the connection
 * stays open this long so the message is delivered before the peer
 * connection closes.
 */
const LINGER_MS = 300;

/** A camera or microphone that could not be used; `kind` is from media.js. */
export class MediaProblem extends Error {
  constructor(kind, cause) {
    super(`media unavailable: ${kind}`);
    this.name = 'MediaProblem';
    this.kind = kind;
    this.cause = cause;
  }
}

function stopStream(stream) {
  if (stream) for (const track of stream.getTracks()) track.stop();
}

export class CallSession {
  /**
   * @param {object} options
   * @param {{id: string, name: string}} options.peer
   * @param {RTCIceServer[]} options.iceServers
   * @param {(message: object) => boolean} options.send  sends a signaling message
   * @param {object} options.on  callbacks:
   *   localStream(stream | null, {mirrored}), remoteStream(stream),
   *   link({connection, channel}), chat(text), disconnect(), media()
   */
  constructor({ peer, iceServers, send, on, relayable = () => false }) {
    /** Whether the appliance can carry the call (its media server is on). */
    this.relayable = relayable;
    /** The call through the appliance, once the direct connection did not come up. */
    this.relay = null;
    this.directTimer = null;
    this.peer = peer;
    this.iceServers = Array.isArray(iceServers) ? iceServers : [];
    this.send = send;
    this.on = on;
    this.closed = false;
    this.pc = null;
    this.channel = null;
    this.mode = null;
    this.localStream = null;
    this.cameraTrack = null;
    this.screenTrack = null;
    this.videoSender = null;
    this.remoteStream = null;
    this.candidates = new CandidateQueue();
    this.outgoing = []; // our ICE candidates, held until the offer/answer is sent
    this.descriptionSent = false;
    this.chatQueue = [];
    this.muted = false;
    this.cameraOff = false;
    /** What the other side says it sends (until it says, assume both). */
    this.remote = { audio: true, video: true };
    this.cameraIds = [];
    this.connectedAt = null;
    this.busy = false; // a camera switch or share change is in progress
    this.onDeviceChange = () => this.refreshCameras();
  }

  // ---- media ----

  /** Captures media for `mode`; throws MediaProblem when it cannot. */
  async acquireMedia(mode) {
    this.mode = mode;
    stopStream(this.localStream);
    this.localStream = null;
    this.cameraTrack = null;
    const constraints = constraintsFor(mode);
    if (!constraints) {
      this.localStream = new MediaStream();
      this.on.localStream(null, { mirrored: false });
      return;
    }
    const devices = navigator.mediaDevices;
    if (!devices || typeof devices.getUserMedia !== 'function') {
      throw new MediaProblem('unsupported');
    }
    let stream;
    try {
      stream = await devices.getUserMedia(constraints);
    } catch (err) {
      throw new MediaProblem(mediaProblemKind(err), err);
    }
    if (this.closed) {
      stopStream(stream);
      return;
    }
    this.localStream = stream;
    this.cameraTrack = stream.getVideoTracks()[0] || null;
    this.on.localStream(this.cameraTrack ? stream : null, { mirrored: true });
    if (this.cameraTrack && typeof devices.addEventListener === 'function') {
      devices.addEventListener('devicechange', this.onDeviceChange);
    }
    await this.refreshCameras();
  }

  async refreshCameras() {
    const devices = navigator.mediaDevices;
    if (!this.cameraTrack || !devices || typeof devices.enumerateDevices !== 'function') {
      this.cameraIds = [];
    } else {
      try {
        const all = await devices.enumerateDevices();
        this.cameraIds = all
          .filter((d) => d.kind === 'videoinput' && d.deviceId)
          .map((d) => d.deviceId);
      } catch (err) {
        console.warn('lanrtc: could not list cameras', err);
        this.cameraIds = [];
      }
    }
    if (!this.closed) this.on.media();
  }

  get audioTrack() {
    return this.localStream ? this.localStream.getAudioTracks()[0] || null : null;
  }

  /** What the call controls should offer right now. */
  mediaState() {
    const canShare = Boolean(
      navigator.mediaDevices && typeof navigator.mediaDevices.getDisplayMedia === 'function',
    );
    const hasVideo = Boolean(this.cameraTrack && this.videoSender);
    return {
      hasAudio: Boolean(this.audioTrack),
      hasVideo,
      muted: this.muted,
      cameraOff: this.cameraOff,
      remoteMuted: !this.remote.audio,
      remoteCameraOff: !this.remote.video,
      canSwitch: hasVideo && !this.screenTrack && this.cameraIds.length > 1,
      canShare: hasVideo && canShare,
      sharing: Boolean(this.screenTrack),
      busy: this.busy,
    };
  }

  toggleMute() {
    const track = this.audioTrack;
    if (!track) return;
    this.muted = !this.muted;
    track.enabled = !this.muted;
    this.sendMediaState();
    this.on.media();
  }

  /** Tells the other side whether our microphone and picture are on. */
  sendMediaState() {
    const audio = Boolean(this.audioTrack) && !this.muted;
    const video = Boolean(this.screenTrack) || (Boolean(this.cameraTrack) && !this.cameraOff);
    this.sendChannel(mediaMessage(audio, video));
  }

  toggleCamera() {
    if (!this.cameraTrack) return;
    this.cameraOff = !this.cameraOff;
    this.cameraTrack.enabled = !this.cameraOff;
    this.sendMediaState();
    this.on.media();
  }

  /** Moves to the next camera. Throws MediaProblem if no camera can be opened. */
  async switchCamera() {
    if (this.busy || !this.cameraTrack || this.screenTrack || !this.videoSender) return;
    const old = this.cameraTrack;
    const currentId = old.getSettings ? old.getSettings().deviceId : undefined;
    const nextId = nextCamera(this.cameraIds, currentId);
    if (!nextId) return;
    this.busy = true;
    this.on.media();
    try {
      // Phones often cannot open a second camera while one is running, so
      // the old one is stopped first and reopened if the new one fails.
      old.stop();
      let track;
      try {
        track = await this.openCamera(nextId);
      } catch (err) {
        track = await this.openCamera(currentId).catch(() => {
          throw new MediaProblem(mediaProblemKind(err), err);
        });
      }
      if (this.closed) {
        track.stop();
        return;
      }
      track.enabled = !this.cameraOff;
      this.localStream.removeTrack(old);
      this.localStream.addTrack(track);
      this.cameraTrack = track;
      await this.setOutgoingVideo(track);
      this.on.localStream(this.localStream, { mirrored: true });
    } finally {
      this.busy = false;
      if (!this.closed) this.on.media();
    }
  }

  async openCamera(deviceId) {
    const video = deviceId ? { deviceId: { exact: deviceId } } : true;
    const stream = await navigator.mediaDevices.getUserMedia({ video });
    return stream.getVideoTracks()[0];
  }

  /** Starts or stops sharing the screen in place of the camera. */
  async toggleShare() {
    if (this.busy || !this.videoSender) return;
    if (this.screenTrack) {
      await this.stopSharing();
      return;
    }
    this.busy = true;
    this.on.media();
    try {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: true });
      const track = stream.getVideoTracks()[0];
      if (this.closed || !track) {
        stopStream(stream);
        return;
      }
      this.screenTrack = track;
      // The browser's own "Stop sharing" bar ends the track.
      track.addEventListener('ended', () => {
        if (this.screenTrack === track) this.stopSharing();
      });
      await this.videoSender.replaceTrack(track);
      this.on.localStream(new MediaStream([track]), { mirrored: false });
      this.sendMediaState();
    } finally {
      this.busy = false;
      if (!this.closed) this.on.media();
    }
  }

  async stopSharing() {
    const track = this.screenTrack;
    if (!track) return;
    this.screenTrack = null;
    track.stop();
    if (this.closed) return;
    try {
      if (this.videoSender) await this.setOutgoingVideo(this.cameraTrack);
    } catch (err) {
      console.warn('lanrtc: could not restore the camera', err);
    }
    this.sendMediaState();
    this.on.localStream(this.localStream, { mirrored: true });
    this.on.media();
  }

  /** The picture we send, on the direct connection and through the appliance. */
  async setOutgoingVideo(track) {
    await this.videoSender.replaceTrack(track);
    if (this.relay) await this.relay.replaceVideo(track);
  }

  // ---- connection ----

  /**
   * From the moment both descriptions are out, the direct connection has
   * DIRECT_WAIT_MS to come up; after that the call goes through the
   * appliance (client-isolated Wi-Fi), when it has a media server.
   */
  armRelay() {
    if (this.directTimer || this.relay || this.closed) return;
    this.directTimer = setTimeout(() => {
      this.directTimer = null;
      if (this.closed || this.connectionState === 'connected' || !this.relayable()) return;
      this.startRelay();
    }, DIRECT_WAIT_MS);
  }

  startRelay() {
    if (this.relay || this.closed || !this.localStream) return;
    const relay = new CallRelay({
      peerId: this.peer.id,
      stream: this.localStream,
      send: this.send,
      onStream: (stream) => {
        if (this.relay !== relay) return;
        this.remoteStream = stream;
        this.on.remoteStream(stream);
      },
      onChange: () => this.reportLink(),
    });
    this.relay = relay;
    relay.start().catch((err) => console.warn('lanrtc: the call could not go through the appliance', err));
    this.reportLink();
  }

  /**
   * The relay again from scratch, with `this.peer` as it is now: after a
   * rejoin (ours, or the other side's under a new id) the appliance has
   * ended the old connection's streams and knows nothing of the new one.
   */
  restartRelay() {
    if (!this.relay || this.closed) return;
    const old = this.relay;
    this.relay = null;
    old.close();
    this.startRelay();
  }

  /** 'appliance' when the call goes through it, else 'direct'. */
  get via() {
    return this.relay && this.relay.state === 'connected' ? 'appliance' : 'direct';
  }

  createPeerConnection() {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    this.pc = pc;
    this.remoteStream = new MediaStream();
    pc.onicecandidate = (e) => {
      const json = e.candidate ? e.candidate.toJSON() : null;
      this.sendSignal(iceCandidate(this.peer.id, json));
    };
    pc.ontrack = (e) => {
      if (!this.remoteStream.getTracks().includes(e.track)) this.remoteStream.addTrack(e.track);
      this.on.remoteStream(this.remoteStream);
    };
    pc.onconnectionstatechange = () => this.reportLink();
    pc.oniceconnectionstatechange = () => this.reportLink();
    return pc;
  }

  /** Both sides create the same negotiated channel, so neither waits for the other's. */
  openChannel() {
    const channel = this.pc.createDataChannel('chat', { negotiated: true, id: 0 });
    this.channel = channel;
    channel.onopen = () => {
      for (const text of this.chatQueue.splice(0)) channel.send(text);
      this.sendMediaState();
      this.reportLink();
    };
    channel.onclose = () => this.reportLink();
    channel.onmessage = (e) => {
      const message = parseChannelMessage(e.data);
      if (!message) return;
      if (message.type === 'chat') this.on.chat(message.text);
      else if (message.type === 'disconnect') this.on.disconnect();
      else if (message.type === 'meeting') this.on.toMeeting();
      else if (message.type === 'media') {
        this.remote = { audio: message.audio, video: message.video };
        this.on.media();
      }
    };
  }

  addLocalTracks() {
    for (const track of this.localStream.getTracks()) {
      const sender = this.pc.addTrack(track, this.localStream);
      if (track.kind === 'video') this.videoSender = sender;
    }
  }

  /** Caller: creates the connection and returns the offer's SDP. */
  async createOffer() {
    const pc = this.createPeerConnection();
    this.addLocalTracks();
    // Receive what we do not send: an audio-only or receive-only caller
    // still wants to see and hear the other side.
    if (!this.audioTrack) pc.addTransceiver('audio', { direction: 'recvonly' });
    if (!this.cameraTrack) pc.addTransceiver('video', { direction: 'recvonly' });
    this.openChannel();
    await pc.setLocalDescription(await pc.createOffer());
    return pc.localDescription.sdp;
  }

  /** Callee: creates the connection, answers `offerSdp`, returns the answer's SDP. */
  async createAnswer(offerSdp) {
    const pc = this.createPeerConnection();
    await pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
    await this.drainCandidates();
    // addTrack reuses the transceivers the offer created.
    this.addLocalTracks();
    if (this.mode === 'recvonly') {
      for (const t of pc.getTransceivers()) t.direction = 'recvonly';
    }
    this.openChannel();
    await pc.setLocalDescription(await pc.createAnswer());
    return pc.localDescription.sdp;
  }

  /** Caller: an offer with new ICE credentials, for a link that dropped. */
  async restartOffer() {
    const pc = this.pc;
    if (!pc || this.closed) return null;
    await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
    return pc.localDescription.sdp;
  }

  /** Callee: answers the caller's ICE restart on the running connection. */
  async answerRestart(sdp) {
    const pc = this.pc;
    if (!pc || this.closed) return null;
    await pc.setRemoteDescription({ type: 'offer', sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    return pc.localDescription.sdp;
  }

  /**
   * Caller: the answer to an ICE restart. Applied only while an offer is
   * outstanding; an answer to an older restart offer (several can cross on
   * a slow link) is dropped. Returns whether it was applied.
   */
  async applyRestartAnswer(sdp) {
    const pc = this.pc;
    if (!pc || this.closed || pc.signalingState !== 'have-local-offer') return false;
    try {
      await pc.setRemoteDescription({ type: 'answer', sdp });
      return true;
    } catch (err) {
      console.debug('lanrtc: a stale restart answer was dropped', err);
      return false;
    }
  }

  /** Caller: applies the callee's answer. */
  async applyAnswer(sdp) {
    if (!this.pc || this.closed) return;
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
    await this.drainCandidates();
    this.armRelay();
  }

  /** The offer or answer went out: our candidates may follow it now. */
  markDescriptionSent() {
    this.descriptionSent = true;
    for (const message of this.outgoing.splice(0)) this.send(message);
    // The callee's answer is out: both descriptions are.
    if (this.pc && this.pc.localDescription && this.pc.localDescription.type === 'answer') this.armRelay();
  }

  sendSignal(message) {
    if (this.closed) return;
    if (this.descriptionSent) this.send(message);
    else this.outgoing.push(message);
  }

  /** A candidate from the peer (an init object, or null for end of candidates). */
  addRemoteCandidate(candidate) {
    if (this.closed) return;
    if (this.candidates.add(candidate)) this.applyCandidate(candidate);
  }

  async drainCandidates() {
    for (const candidate of this.candidates.release()) await this.applyCandidate(candidate);
  }

  async applyCandidate(candidate) {
    if (!this.pc || this.closed) return;
    try {
      // No argument means "end of candidates".
      if (candidate) await this.pc.addIceCandidate(candidate);
      else await this.pc.addIceCandidate();
    } catch (err) {
      console.debug('lanrtc: ICE candidate not added', err);
    }
  }

  get connectionState() {
    const pc = this.pc;
    if (!pc) return 'new';
    // Through the appliance, its connection is the call's link.
    if (this.relay) {
      const direct = this.directState;
      return direct === 'connected' ? direct : this.relay.state;
    }
    return this.directState;
  }

  get directState() {
    const pc = this.pc;
    if (!pc) return 'new';
    if (typeof pc.connectionState === 'string') return pc.connectionState;
    // Browsers without connectionState: map the ICE state.
    const ice = pc.iceConnectionState;
    return ice === 'completed' ? 'connected' : ice === 'checking' ? 'connecting' : ice;
  }

  get channelState() {
    // Through the appliance there is no data channel; a hangup or the peer
    // leaving comes over signaling.
    if (this.relay && this.relay.state === 'connected' && this.directState !== 'connected') return 'open';
    return this.channel ? this.channel.readyState : 'connecting';
  }

  reportLink() {
    if (this.closed) return;
    const connection = this.connectionState;
    if (connection === 'connected' && this.connectedAt === null) this.connectedAt = Date.now();
    this.on.link({ connection, channel: this.channelState });
  }

  // ---- chat ----

  /** Sends a chat line now, or when the channel opens. */
  sendChat(text) {
    const message = chatMessage(Array.from(text).slice(0, MAX_CHAT_CHARS).join(''));
    if (this.channel && this.channel.readyState === 'open') this.channel.send(message);
    else if (this.chatQueue.length < MAX_QUEUED_CHAT) this.chatQueue.push(message);
  }

  /** Writes to the data channel if it is open; returns whether it did. */
  sendChannel(message) {
    if (this.closed || !this.channel || this.channel.readyState !== 'open') return false;
    try {
      this.channel.send(message);
      return true;
    } catch (err) {
      console.debug('lanrtc: data channel send failed', err);
      return false;
    }
  }

  // ---- ending ----

  /**
   * Stops all media and closes the connection. With `linger`, an open
   * connection closes a moment later so a message just written to the data
   * channel still arrives.
   */
  close({ linger = false } = {}) {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.directTimer);
    if (this.relay) this.relay.close();
    stopStream(this.localStream);
    if (this.screenTrack) this.screenTrack.stop();
    this.screenTrack = null;
    const devices = navigator.mediaDevices;
    if (devices && typeof devices.removeEventListener === 'function') {
      devices.removeEventListener('devicechange', this.onDeviceChange);
    }
    const { pc, channel } = this;
    if (channel) {
      channel.onopen = channel.onclose = channel.onmessage = null;
    }
    if (!pc) return;
    pc.onicecandidate = pc.ontrack = null;
    pc.onconnectionstatechange = pc.oniceconnectionstatechange = null;
    const open = channel && channel.readyState === 'open';
    if (linger && open) {
      setTimeout(() => pc.close(), LINGER_MS);
    } else {
      pc.close();
    }
  }
}
