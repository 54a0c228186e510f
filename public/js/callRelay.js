// A 1:1 call carried through the appliance, for two devices that reach the
// appliance but not each other (guest, hotel and office Wi-Fi that isolates
// its clients). Each side sends its camera and microphone to the media
// server once (`publish` with `call`) and receives the other side's from it
// (`subscribe`), after both asked for it with `call-relay`. No DOM here:
// CallSession starts it when its direct connection has not come up in
// DIRECT_WAIT_MS, and reports its state as the call's link.

import { Subscription } from './meeting.js';

/** How long a call's direct connection may take before it goes through the appliance. */
export const DIRECT_WAIT_MS = 5000;

export class CallRelay {
  /**
   * @param {object} o
   * @param {string} o.peerId  the other side of the call
   * @param {MediaStream} o.stream  our camera and microphone (the call's own tracks)
   * @param {(message: object) => boolean} o.send
   * @param {(stream: MediaStream) => void} o.onStream  the other side's media arrived
   * @param {() => void} o.onChange  the state changed
   */
  constructor({ peerId, stream, send, onStream, onChange }) {
    this.peerId = peerId;
    this.send = send;
    this.onStream = onStream;
    this.onChange = onChange;
    this.closed = false;
    this.published = false;
    this.pc = new RTCPeerConnection({ iceServers: [] });
    this.pc.addEventListener('connectionstatechange', () => this.onChange());
    const [audio] = stream.getAudioTracks();
    const [video] = stream.getVideoTracks();
    this.audioSender = this.pc.addTransceiver(audio || 'audio', { direction: 'sendonly', streams: [stream] }).sender;
    this.videoSender = this.pc.addTransceiver(video || 'video', { direction: 'sendonly', streams: [stream] }).sender;
    this.subscription = null;
    this.partnerPublishing = false;
  }

  async start() {
    this.send({ type: 'call-relay', data: { target: this.peerId } });
    await this.pc.setLocalDescription(await this.pc.createOffer());
    if (this.closed) return;
    this.send({ type: 'publish', data: { sdp: this.pc.localDescription.sdp, call: this.peerId } });
  }

  /** The server's `published` for our side. */
  async onPublished(sdp) {
    if (this.closed || this.published) return;
    this.published = true;
    try {
      await this.pc.setRemoteDescription({ type: 'answer', sdp });
    } catch (err) {
      console.warn('lanrtc: the appliance answer for the call was refused', err);
    }
  }

  /** `call-relay` from the server: the other side's stream is (or is no longer) there. */
  onPartner(publishing) {
    this.partnerPublishing = publishing;
    if (publishing) this.subscribe();
    else this.dropSubscription();
  }

  subscribe() {
    if (this.closed || this.subscription) return;
    const s = new Subscription(this.peerId, this.send, () => {
      if (s.stream.getTracks().length > 0) this.onStream(s.stream);
      this.onChange();
    });
    s.pc.addEventListener('connectionstatechange', () => this.onChange());
    this.subscription = s;
    s.start().catch((err) => {
      console.warn('lanrtc: could not receive the call through the appliance', err);
    });
  }

  onSubscribed(sdp) {
    if (this.subscription) this.subscription.answer(sdp);
  }

  onUnsubscribed(reason) {
    if (!this.subscription) return;
    this.subscription.close({ tell: false });
    this.subscription = null;
    // A failure while the other side still sends: ask again.
    if (reason !== 'not-publishing' && this.partnerPublishing && !this.closed) {
      setTimeout(() => this.partnerPublishing && this.subscribe(), 1000);
    }
    this.onChange();
  }

  dropSubscription() {
    if (!this.subscription) return;
    this.subscription.close({ tell: false });
    this.subscription = null;
    this.onChange();
  }

  /** A camera switch or a shared screen: the appliance gets the new picture too. */
  replaceVideo(track) {
    return this.videoSender.replaceTrack(track);
  }

  /** 'connected' once media flows both ways through the appliance. */
  get state() {
    const up = this.pc.connectionState;
    const down = this.subscription ? this.subscription.pc.connectionState : 'new';
    if (up === 'connected' && down === 'connected') return 'connected';
    if (up === 'failed' || down === 'failed') return 'failed';
    return 'connecting';
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.send({ type: 'call-relay', data: { target: null } });
    if (this.subscription) this.subscription.close({ tell: false });
    this.pc.close();
  }
}
