// The connection a file transfer runs on: a WebRTC data channel of its own
// (never the call's), or, when no direct connection comes up within a few
// seconds (Wi-Fi that isolates its clients, a browser without WebRTC), a
// pipe through the appliance (two WebSockets joined by the server, see
// src/pipe.rs). Either way the transfer sees one channel shape
// (transferSession.js): send, bufferedAmount, drained(), close(),
// onmessage, onclose.
//
// Signaling goes over /rtc as `transfer` relays ({transfer, signal, …}:
// offer, answer, candidate, unsupported, resume, cancel, ended) and `pipe` requests; see
// docs/protocol.md.

import { BUFFER_LOW, MAX_PIECE, pieceSize } from './logic/transfer.js';

/** How long the direct connection may take before the appliance carries it. */
export const DIRECT_WAIT_MS = 5000;
/** A direct link "disconnected" this long is taken as dropped. */
const DROPPED_AFTER_MS = 4000;
/** A WebSocket has no bufferedamountlow event: how often to look. */
const POLL_MS = 20;
const LABEL = 'lanrtc-files';

function dataChannel(dc, pc) {
  let closed = false;
  const end = () => {
    if (closed) return;
    closed = true;
    if (channel.onclose) channel.onclose();
  };
  const channel = {
    via: 'direct',
    onmessage: null,
    onclose: null,
    send: (data) => dc.send(data),
    get open() {
      return !closed && dc.readyState === 'open';
    },
    get bufferedAmount() {
      return dc.bufferedAmount;
    },
    drained: () =>
      new Promise((resolve) => {
        if (dc.bufferedAmount <= BUFFER_LOW || dc.readyState !== 'open') return resolve();
        const done = () => {
          dc.removeEventListener('bufferedamountlow', done);
          dc.removeEventListener('close', done);
          resolve();
        };
        dc.addEventListener('bufferedamountlow', done);
        dc.addEventListener('close', done);
        return undefined;
      }),
    close: () => {
      closed = true;
      dc.close();
      pc.close();
    },
  };
  dc.bufferedAmountLowThreshold = BUFFER_LOW;
  dc.onmessage = (e) => channel.onmessage && channel.onmessage(e.data);
  dc.onclose = end;
  let timer = null;
  pc.addEventListener('connectionstatechange', () => {
    clearTimeout(timer);
    if (pc.connectionState === 'failed' || pc.connectionState === 'closed') end();
    if (pc.connectionState === 'disconnected') {
      timer = setTimeout(() => {
        if (pc.connectionState === 'disconnected') {
          end();
          dc.close();
          pc.close();
        }
      }, DROPPED_AFTER_MS);
    }
  });
  return channel;
}

function socketChannel(ws) {
  const channel = {
    via: 'appliance',
    onmessage: null,
    onclose: null,
    send: (data) => {
      if (ws.readyState !== WebSocket.OPEN) throw new Error('the pipe is closed');
      ws.send(data);
    },
    get open() {
      return ws.readyState === WebSocket.OPEN;
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    drained: () =>
      new Promise((resolve) => {
        const look = () => {
          if (ws.bufferedAmount <= BUFFER_LOW || ws.readyState !== WebSocket.OPEN) resolve();
          else setTimeout(look, POLL_MS);
        };
        look();
      }),
    close: () => ws.close(),
  };
  ws.onmessage = (e) => channel.onmessage && channel.onmessage(e.data);
  ws.onclose = () => channel.onclose && channel.onclose();
  return channel;
}

/**
 * Connection attempts for one transfer with one peer. `role` is 'sender'
 * (it starts, and decides when to fall back to the appliance) or
 * 'receiver'. `onChannel(channel, pieceSize)` is called for each channel
 * that opens; a new attempt (after a drop) calls it again.
 */
export class FileLink {
  constructor({ transfer, role, peerId, send, iceServers, onChannel, onFailed = () => {} }) {
    this.transfer = transfer;
    this.role = role;
    this.peerId = peerId;
    this.sendSignal = send;
    this.iceServers = iceServers;
    this.onChannel = onChannel;
    this.onFailed = onFailed;
    this.pc = null;
    this.timer = null;
    this.attempt = 0;
    this.pendingCandidates = [];
    this.handedOver = new WeakSet();
  }

  relay(signal, extra = {}) {
    return this.sendSignal({
      type: 'transfer',
      data: { target: this.peerId, transfer: this.transfer, signal, ...extra },
    });
  }

  /** The sender's move: a direct connection first, the appliance if it does not come up. */
  async start() {
    this.closeDirect();
    const attempt = ++this.attempt;
    if (typeof RTCPeerConnection !== 'function') {
      this.viaAppliance();
      return;
    }
    const pc = new RTCPeerConnection({ iceServers: this.iceServers() });
    this.pc = pc;
    const dc = pc.createDataChannel(LABEL, { ordered: true });
    dc.binaryType = 'arraybuffer';
    pc.onicecandidate = (e) => {
      if (this.pc === pc) this.relay('candidate', { candidate: e.candidate ? e.candidate.toJSON() : null });
    };
    pc.addEventListener('connectionstatechange', () => {
      if (this.pc === pc && pc.connectionState === 'failed' && dc.readyState !== 'open') this.viaAppliance();
    });
    dc.onopen = () => {
      if (this.pc !== pc) return;
      clearTimeout(this.timer);
      this.handOver(dc, pc);
    };
    this.timer = setTimeout(() => {
      if (this.attempt === attempt && dc.readyState !== 'open') this.viaAppliance();
    }, DIRECT_WAIT_MS);
    try {
      await pc.setLocalDescription(await pc.createOffer());
      if (this.pc === pc) this.relay('offer', { sdp: pc.localDescription.sdp });
    } catch (err) {
      console.warn('lanrtc: no direct connection for the transfer', err);
      if (this.pc === pc) this.viaAppliance();
    }
  }

  /** A `transfer` relay from the peer. */
  async onSignal(data) {
    switch (data.signal) {
      case 'offer':
        return this.answer(data.sdp);
      case 'answer':
        if (this.pc && this.pc.signalingState === 'have-local-offer') {
          await this.pc.setRemoteDescription({ type: 'answer', sdp: data.sdp }).catch((e) => console.warn('lanrtc:', e));
          for (const c of this.pendingCandidates.splice(0)) this.pc.addIceCandidate(c).catch(() => {});
        }
        return undefined;
      case 'candidate':
        if (!this.pc || data.candidate === null || typeof data.candidate !== 'object') return undefined;
        if (!this.pc.remoteDescription) this.pendingCandidates.push(data.candidate);
        else await this.pc.addIceCandidate(data.candidate).catch(() => {});
        return undefined;
      case 'unsupported':
        // The other browser has no WebRTC: straight to the appliance.
        if (this.role === 'sender') this.viaAppliance();
        return undefined;
      default:
        return undefined;
    }
  }

  async answer(sdp) {
    if (typeof sdp !== 'string') return;
    this.closeDirect();
    if (typeof RTCPeerConnection !== 'function') {
      this.relay('unsupported');
      return;
    }
    const pc = new RTCPeerConnection({ iceServers: this.iceServers() });
    this.pc = pc;
    pc.onicecandidate = (e) => {
      if (this.pc === pc) this.relay('candidate', { candidate: e.candidate ? e.candidate.toJSON() : null });
    };
    pc.ondatachannel = (e) => {
      const dc = e.channel;
      if (dc.label !== LABEL || this.pc !== pc) return;
      dc.binaryType = 'arraybuffer';
      const opened = () => {
        if (this.pc === pc) this.handOver(dc, pc);
      };
      if (dc.readyState === 'open') opened();
      else dc.onopen = opened;
    };
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp });
      for (const c of this.pendingCandidates.splice(0)) pc.addIceCandidate(c).catch(() => {});
      await pc.setLocalDescription(await pc.createAnswer());
      if (this.pc === pc) this.relay('answer', { sdp: pc.localDescription.sdp });
    } catch (err) {
      console.warn('lanrtc: could not answer a transfer', err);
    }
  }

  /** Asks the server for a pipe (the sender decides when). */
  viaAppliance() {
    clearTimeout(this.timer);
    this.closeDirect();
    this.attempt++;
    this.sendSignal({ type: 'pipe', data: { target: this.peerId, transfer: this.transfer } });
  }

  /** The server's `pipe`: connect to it (both ends do). */
  onPipe(path) {
    if (typeof path !== 'string' || !path.startsWith('/pipe/')) return;
    clearTimeout(this.timer);
    this.closeDirect();
    const ws = new WebSocket(`wss://${location.host}${path}`);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => this.onChannel(socketChannel(ws), MAX_PIECE);
    ws.onerror = () => {
      if (ws.readyState !== WebSocket.OPEN) this.onFailed('the appliance could not carry the transfer');
    };
  }

  /** The channel is open: from now on the transfer owns it and its connection. */
  handOver(dc, pc) {
    this.handedOver.add(pc);
    this.onChannel(dataChannel(dc, pc), pieceSize(pc.sctp ? pc.sctp.maxMessageSize : 0));
  }

  closeDirect() {
    this.pendingCandidates = [];
    if (this.pc) {
      const pc = this.pc;
      this.pc = null;
      // A channel handed over closes its connection itself; any other
      // connection (one that never brought our channel) ends here.
      if (!this.handedOver.has(pc)) pc.close();
      this.handedOver.delete(pc);
    }
  }

  close() {
    clearTimeout(this.timer);
    this.attempt++;
    this.closeDirect();
  }
}
