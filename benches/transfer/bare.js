// The ceiling for the file-transfer benchmark (benches/transfer.rs): two
// pages push bytes over one ordered data channel as fast as it goes, with
// the settings the app uses (256 KiB pieces, bufferedAmount between 1 and
// 4 MiB), and nothing else: no file reading, no hashing, no disk. The
// offer and answer go through the app's signaling (/rtc) as `transfer`
// relays. ?role=send&bytes=N&to=<name> sends; ?role=receive receives.
const params = new URLSearchParams(location.search);
const role = params.get('role');
const PIECE = 256 * 1024;
const HIGH = 4 * 1024 * 1024;
const LOW = 1024 * 1024;
const state = document.getElementById('state');
window.result = null;

const ws = new WebSocket(`wss://${location.host}/rtc`);
let selfId = null;
const peers = new Map();
let pc = null;

function send(type, data) {
  ws.send(JSON.stringify({ type, data }));
}

ws.onmessage = async (e) => {
  const m = JSON.parse(e.data);
  if (m.type === 'ready') {
    selfId = m.id;
    send('identify', { id: selfId, name: `bare-${role}` });
  } else if (m.type === 'peer' && !m.data.remove) {
    peers.set(m.data.name, m.data.id);
    if (role === 'send' && m.data.name === params.get('to') && !pc) start(m.data.id);
  } else if (m.type === 'transfer') {
    const d = m.data;
    if (d.signal === 'offer') answer(d.source, d.sdp);
    else if (d.signal === 'answer') await pc.setRemoteDescription({ type: 'answer', sdp: d.sdp });
    else if (d.signal === 'candidate' && d.candidate) await pc.addIceCandidate(d.candidate);
  }
};

function makePc(target) {
  pc = new RTCPeerConnection();
  pc.onicecandidate = (e) => {
    send('transfer', { target, transfer: 'bare', signal: 'candidate', candidate: e.candidate ? e.candidate.toJSON() : null });
  };
  return pc;
}

async function start(target) {
  makePc(target);
  const dc = pc.createDataChannel('bare', { ordered: true });
  dc.binaryType = 'arraybuffer';
  dc.bufferedAmountLowThreshold = LOW;
  dc.onopen = () => push(dc);
  await pc.setLocalDescription(await pc.createOffer());
  send('transfer', { target, transfer: 'bare', signal: 'offer', sdp: pc.localDescription.sdp });
}

async function answer(source, sdp) {
  makePc(source);
  pc.ondatachannel = (e) => receive(e.channel);
  await pc.setRemoteDescription({ type: 'offer', sdp });
  await pc.setLocalDescription(await pc.createAnswer());
  send('transfer', { target: source, transfer: 'bare', signal: 'answer', sdp: pc.localDescription.sdp });
}

function push(dc) {
  const total = Number(params.get('bytes'));
  const piece = new Uint8Array(PIECE).fill(7);
  let sent = 0;
  const started = performance.now();
  state.textContent = 'sending';
  const more = () => {
    while (sent < total && dc.bufferedAmount < HIGH) {
      const n = Math.min(PIECE, total - sent);
      dc.send(n === PIECE ? piece : piece.subarray(0, n));
      sent += n;
    }
    if (sent >= total) {
      window.result = { sent, ms: performance.now() - started };
      state.textContent = 'sent';
    }
  };
  dc.onbufferedamountlow = more;
  more();
}

function receive(dc) {
  dc.binaryType = 'arraybuffer';
  let got = 0;
  let first = null;
  dc.onmessage = (e) => {
    if (first === null) first = performance.now();
    got += e.data.byteLength;
    window.received = got;
  };
  window.receivedSince = () => ({ got, first });
  state.textContent = 'receiving';
}
