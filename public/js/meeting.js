// One device's part in a meeting: its camera and microphone sent once to
// the appliance (one send-only RTCPeerConnection), and one receive-only
// connection per other member whose stream the appliance holds. It follows
// the server's `meeting` state: members who start publishing are
// subscribed to, those who leave are closed. No DOM here; it reports
// through `onChange` and main.js routes the server's messages to it.

import { offerToAppliance } from './applianceOffer.js';
import {
  layersFor,
  plan,
  publishMessage,
  subscribeMessage,
  tilesChanged,
  unsubscribeMessage,
  updateMessage,
  viewMessage,
} from './logic/meeting.js';

/** How long the appliance may take to answer and connect our stream. */
export const PUBLISH_DEADLINE_MS = 8000;
/** A subscription that failed is tried again after this long. */
export const RESUBSCRIBE_MS = 2000;

/** One other member's stream, received through the appliance. */
export class Subscription {
  constructor(id, send, onChange) {
    this.id = id;
    this.send = send;
    this.stream = new MediaStream();
    this.failed = false;
    this.pc = new RTCPeerConnection({ iceServers: [] });
    this.pc.addEventListener('track', (e) => {
      this.stream.addTrack(e.track);
      onChange();
    });
    this.pc.addEventListener('connectionstatechange', () => {
      if (this.pc.connectionState === 'failed') {
        this.failed = true;
        onChange();
      }
    });
  }

  async start() {
    this.pc.addTransceiver('video', { direction: 'recvonly' });
    this.pc.addTransceiver('audio', { direction: 'recvonly' });
    await this.pc.setLocalDescription(await this.pc.createOffer());
    this.send(subscribeMessage(this.id, this.pc.localDescription.sdp));
  }

  async answer(sdp) {
    try {
      await this.pc.setRemoteDescription({ type: 'answer', sdp });
    } catch (err) {
      console.warn('lanrtc: a meeting stream could not be set up', err);
      this.failed = true;
    }
  }

  close({ tell }) {
    if (tell) this.send(unsubscribeMessage(this.id));
    this.pc.close();
  }
}

export class MeetingSession {
  /**
   * @param {object} o
   * @param {MediaStream} o.stream  our camera and microphone
   * @param {(message: object) => boolean} o.send
   * @param {string} o.selfId
   * @param {() => void} o.onChange  something to show changed
   * @param {(reason: string) => void} o.onLost  our stream could not reach the appliance, or stopped
   */
  constructor({ stream, send, selfId, onChange, onLost, simulcast = false }) {
    this.simulcast = simulcast;
    this.stream = stream;
    this.camera = stream;
    this.send = send;
    this.selfId = selfId;
    this.onChange = onChange;
    this.onLost = onLost;
    this.muted = false;
    this.cameraOff = stream.getVideoTracks().length === 0;
    this.screen = null;
    this.members = [];
    this.speaker = null;
    /** id -> Subscription */
    this.subscriptions = new Map();
    this.ended = false;
    this.up = false;
    this.pc = new RTCPeerConnection({ iceServers: [] });
    /** The publish in flight (applianceOffer.js). */
    this.offer = null;
    this.retry = null;
    /** The tile widths last told to the appliance. */
    this.toldTiles = {};
  }

  /** Sends our stream to the appliance; rejects on refusal or after the deadline. */
  async start(deadlineMs = PUBLISH_DEADLINE_MS) {
    const [audio] = this.stream.getAudioTracks();
    const [video] = this.stream.getVideoTracks();
    // Both transceivers always, so the camera can be switched on later and
    // a screen shared without a new negotiation.
    this.audioSender = this.pc.addTransceiver(audio || 'audio', { direction: 'sendonly', streams: [this.stream] }).sender;
    const layers = layersFor(video, this.simulcast);
    this.videoSender = this.pc.addTransceiver(video || 'video', {
      direction: 'sendonly',
      streams: [this.stream],
      ...layers,
    }).sender;
    this.pc.addEventListener('connectionstatechange', () => {
      if (this.pc.connectionState === 'failed' && this.up && !this.ended) this.onLost('failed');
    });
    this.offer = offerToAppliance(this.pc, this.send, publishMessage, deadlineMs);
    await this.offer.done;
    this.up = true;
  }

  /** The server's `published` for our meeting stream, or its refusal. */
  onPublished(sdp) {
    if (this.offer) this.offer.answer(sdp);
  }

  onPublishRefused(message) {
    if (this.offer) this.offer.refuse(message);
  }

  /** The server's `meeting` state (already read by readMeeting). */
  onMeeting(state) {
    if (this.ended) return;
    this.members = state.members;
    this.speaker = state.speaker;
    this.reconcile();
    this.onChange();
  }

  reconcile() {
    if (this.ended) return;
    // A failed subscription is closed and opened again on the next pass.
    const failed = [...this.subscriptions.values()].filter((s) => s.failed);
    for (const s of failed) {
      s.close({ tell: true });
      this.subscriptions.delete(s.id);
    }
    const { open, close } = plan(this.members, this.selfId, this.subscriptions.keys());
    for (const id of close) {
      // A member who left has no stream left to stop.
      const stillIn = this.members.some((m) => m.id === id);
      this.subscriptions.get(id).close({ tell: stillIn });
      this.subscriptions.delete(id);
    }
    for (const id of open) {
      const s = new Subscription(id, this.send, () => this.onSubscriptionChange());
      this.subscriptions.set(id, s);
      s.start().catch((err) => {
        console.warn('lanrtc: could not subscribe to a meeting stream', err);
        s.failed = true;
        this.scheduleRetry();
      });
    }
  }

  onSubscriptionChange() {
    if ([...this.subscriptions.values()].some((s) => s.failed)) this.scheduleRetry();
    this.onChange();
  }

  scheduleRetry() {
    if (this.retry || this.ended) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      this.reconcile();
      this.onChange();
    }, RESUBSCRIBE_MS);
  }

  onSubscribed(source, sdp) {
    const s = this.subscriptions.get(source);
    if (s) s.answer(sdp);
  }

  /** A subscription refused or ended by the server. */
  onUnsubscribed(source, reason) {
    const s = this.subscriptions.get(source);
    if (!s) return;
    s.close({ tell: false });
    this.subscriptions.delete(source);
    // Its member may still be publishing (a failure, a new stream): the
    // next pass decides.
    if (reason !== 'not-publishing') this.scheduleRetry();
    this.onChange();
  }

  /** The remote stream of a member, once it has arrived. */
  streamOf(id) {
    const s = this.subscriptions.get(id);
    return s && s.stream.getTracks().length > 0 ? s.stream : null;
  }

  /** How wide each other member's tile is shown (device pixels). */
  reportTiles(widths) {
    if (this.ended || !tilesChanged(this.toldTiles, widths)) return;
    if (this.send(viewMessage(widths))) this.toldTiles = widths;
  }

  flags() {
    return { muted: this.muted, camera: !this.cameraOff, screen: this.screen !== null };
  }

  tell() {
    this.send(updateMessage(this.flags()));
    this.onChange();
  }

  setMuted(muted) {
    this.muted = muted;
    for (const t of this.camera.getAudioTracks()) t.enabled = !muted;
    this.tell();
  }

  setCameraOff(off) {
    this.cameraOff = off;
    for (const t of this.camera.getVideoTracks()) t.enabled = !off;
    this.tell();
  }

  /** Shares the screen in place of the camera (everyone shows it large). */
  async shareScreen() {
    if (this.screen) return;
    const screen = await navigator.mediaDevices.getDisplayMedia({ video: true });
    const [track] = screen.getVideoTracks();
    if (this.ended || !track) {
      for (const t of screen.getTracks()) t.stop();
      return;
    }
    track.addEventListener('ended', () => this.stopSharing());
    this.screen = screen;
    await this.videoSender.replaceTrack(track);
    this.tell();
  }

  async stopSharing() {
    if (!this.screen) return;
    for (const t of this.screen.getTracks()) t.stop();
    this.screen = null;
    const [camera] = this.camera.getVideoTracks();
    if (!this.ended) {
      await this.videoSender.replaceTrack(camera || null);
      this.tell();
    }
  }

  /** What we show in our own tile. */
  get preview() {
    return this.screen || this.camera;
  }

  /** Leaves: closes every connection and stops the capture. */
  close() {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.retry);
    for (const s of this.subscriptions.values()) s.close({ tell: false });
    this.subscriptions.clear();
    this.pc.close();
    for (const t of this.camera.getTracks()) t.stop();
    if (this.screen) for (const t of this.screen.getTracks()) t.stop();
  }
}
