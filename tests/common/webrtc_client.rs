//! A small WebRTC client built on str0m, for the media server's tests and
//! benchmark: a publisher that sends synthetic VP8 and Opus frames, or a
//! viewer that receives without decoding. It speaks to the server as a
//! browser would: full ICE (the server is ICE-lite), DTLS, SRTP, RTCP.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;

pub struct Client {
    pub rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    pending: Option<SdpPendingOffer>,
    pub video: Option<Mid>,
    pub audio: Option<Mid>,
    next_timeout: Instant,
    buf: Vec<u8>,
    pub connected: bool,
    /// When set, RTP is counted here instead of being decrypted: a viewer
    /// that "receives without decoding", as cheap as a load generator can
    /// be. STUN, DTLS and RTCP still go to str0m, so the session stays up.
    pub counting: Option<RtpCount>,
    /// The level (RFC 6464, −dBov as str0m takes it: 0 loud, -127 silent)
    /// put on every audio packet sent, as a browser does; `None` sends none.
    pub audio_level: Option<i8>,
    /// A level another task may change while this client publishes; wins
    /// over `audio_level`.
    pub shared_level: Option<Arc<std::sync::atomic::AtomicI8>>,
    /// Simulcast: the layers' RTP stream ids, lowest first; each frame is
    /// sent once per layer, at a quarter, half and full size, its filler
    /// byte the frame's tag plus the layer's index.
    pub layers: Vec<&'static str>,
}

/// RTP packets seen per SSRC, from the headers (which SRTP leaves in the
/// clear): how many arrived and which sequence numbers they spanned.
#[derive(Debug, Default, Clone)]
pub struct RtpCount {
    pub streams: std::collections::HashMap<u32, SeqSpan>,
    pub bytes: u64,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SeqSpan {
    pub first: u64,
    pub highest: u64,
    pub received: u64,
}

impl RtpCount {
    fn count(&mut self, datagram: &[u8]) {
        let seq = u16::from_be_bytes([datagram[2], datagram[3]]) as u64;
        let ssrc = u32::from_be_bytes([datagram[8], datagram[9], datagram[10], datagram[11]]);
        self.bytes += datagram.len() as u64;
        let span = self.streams.entry(ssrc).or_insert(SeqSpan {
            first: seq,
            highest: seq,
            received: 0,
        });
        // Extend the 16-bit number to the one nearest the highest seen.
        let base = span.highest & !0xffff;
        let mut ext = base | seq;
        if ext + 0x8000 < span.highest {
            ext += 0x10000;
        } else if ext > span.highest + 0x8000 && ext >= 0x10000 {
            ext -= 0x10000;
        }
        span.highest = span.highest.max(ext);
        span.first = span.first.min(ext);
        span.received += 1;
    }

    /// Packets received, and the fraction missing, over the two busiest
    /// streams (video and audio; retransmission streams are left out).
    pub fn totals(&self) -> (u64, f64) {
        let mut spans: Vec<&SeqSpan> = self.streams.values().collect();
        spans.sort_by_key(|s| std::cmp::Reverse(s.received));
        let main = &spans[..spans.len().min(2)];
        let received: u64 = main.iter().map(|s| s.received).sum();
        let expected: u64 = main.iter().map(|s| s.highest - s.first + 1).sum();
        let loss = if expected == 0 {
            0.0
        } else {
            1.0 - received.min(expected) as f64 / expected as f64
        };
        (self.streams.values().map(|s| s.received).sum(), loss)
    }
}

/// RTP, not RTCP (RFC 5761: RTCP packet types 192-223 in the second byte).
fn is_rtp(datagram: &[u8]) -> bool {
    datagram.len() >= 12 && (128..192).contains(&datagram[0]) && !(192..224).contains(&datagram[1])
}

/// Video at 30 frames per second; a keyframe every 2 s, as encoders do.
pub const FPS: u64 = 30;
pub const KEYFRAME_EVERY: u64 = 60;

/// A synthetic VP8 frame of `size` bytes: only its first byte matters to a
/// forwarder (bit 0 clear marks a keyframe); the rest is `tag`, so a test
/// can tell whose frames it received.
pub fn vp8_frame(size: usize, keyframe: bool, tag: u8) -> Vec<u8> {
    let mut frame = vec![tag; size.max(4)];
    frame[0] = if keyframe { 0x10 } else { 0x11 };
    frame
}

impl Client {
    /// A client bound to `ip` with an offer to send (`Direction::SendOnly`)
    /// or receive (`RecvOnly`) one video and one audio track.
    pub async fn new(ip: std::net::IpAddr, direction: Direction) -> (Client, String) {
        Self::with_layers(ip, direction, &[]).await
    }

    /// A publisher of `layers` simulcast layers (RTP stream ids, lowest
    /// first); `Client::new` with none.
    pub async fn with_layers(
        ip: std::net::IpAddr,
        direction: Direction,
        layers: &[&'static str],
    ) -> (Client, String) {
        let socket = UdpSocket::bind(SocketAddr::new(ip, 0)).await.unwrap();
        // A viewer task may wait its turn on a busy machine; a larger buffer
        // keeps the kernel from dropping what arrives meanwhile.
        let _ = socket2::SockRef::from(&socket).set_recv_buffer_size(2 * 1024 * 1024);
        let local = socket.local_addr().unwrap();
        let now = Instant::now();
        let mut rtc = Rtc::builder()
            .set_crypto_provider(Arc::new(str0m::crypto::from_feature_flags()))
            .clear_codecs()
            .enable_vp8(true)
            .enable_opus(true, false)
            .build(now);
        rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
        let mut change = rtc.sdp_api();
        let simulcast = (!layers.is_empty()).then(|| {
            let mut s = str0m::media::Simulcast::new();
            for rid in layers {
                s.add_send_layer(str0m::media::SimulcastLayer::new(rid));
            }
            s
        });
        let video = change.add_media(MediaKind::Video, direction, None, None, simulcast);
        let audio = change.add_media(MediaKind::Audio, direction, None, None, None);
        let (offer, pending) = change.apply().unwrap();
        let client = Client {
            rtc,
            socket,
            local,
            pending: Some(pending),
            video: Some(video),
            audio: Some(audio),
            next_timeout: now,
            buf: vec![0; 2048],
            connected: false,
            counting: None,
            audio_level: None,
            shared_level: None,
            layers: layers.to_vec(),
        };
        (client, offer.to_sdp_string())
    }

    pub fn accept(&mut self, answer: &str) {
        let answer = SdpAnswer::from_sdp_string(answer).expect("the server's answer parses");
        let pending = self.pending.take().expect("an offer was made");
        self.rtc.sdp_api().accept_answer(pending, answer).unwrap();
    }

    /// Runs the connection until an event comes or `deadline` passes.
    pub async fn next_event(&mut self, deadline: Instant) -> Option<Event> {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Transmit(t)) => {
                    let _ = self.socket.send_to(&t.contents, t.destination).await;
                    continue;
                }
                Ok(Output::Event(e)) => {
                    if matches!(e, Event::Connected) {
                        self.connected = true;
                    }
                    return Some(e);
                }
                Ok(Output::Timeout(t)) => self.next_timeout = t,
                Err(_) => return None,
            }
            let wake = self.next_timeout.min(deadline);
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            let wait = wake
                .saturating_duration_since(now)
                .max(Duration::from_millis(1));
            match tokio::time::timeout(wait, self.socket.recv_from(&mut self.buf)).await {
                Ok(Ok((n, source))) => {
                    if let Some(count) = &mut self.counting {
                        if is_rtp(&self.buf[..n]) {
                            count.count(&self.buf[..n]);
                            // A steady stream must not starve str0m's timers
                            // (consent checks, reports).
                            let now = Instant::now();
                            if now >= self.next_timeout
                                && self.rtc.handle_input(Input::Timeout(now)).is_err()
                            {
                                return None;
                            }
                            continue;
                        }
                    }
                    let Ok(contents) = self.buf[..n].try_into() else {
                        continue;
                    };
                    let input = Input::Receive(
                        Instant::now(),
                        Receive {
                            proto: Protocol::Udp,
                            source,
                            destination: self.local,
                            contents,
                        },
                    );
                    if self.rtc.handle_input(input).is_err() {
                        return None;
                    }
                }
                _ => {
                    if self
                        .rtc
                        .handle_input(Input::Timeout(Instant::now()))
                        .is_err()
                    {
                        return None;
                    }
                }
            }
        }
    }

    /// Runs until connected (true) or the deadline (false).
    pub async fn connect(&mut self, deadline: Instant) -> bool {
        while !self.connected {
            if self.next_event(deadline).await.is_none() {
                return false;
            }
        }
        true
    }

    fn pt(&mut self, mid: Mid, codec: Codec) -> Option<str0m::media::Pt> {
        let writer = self.rtc.writer(mid)?;
        let pt = writer
            .payload_params()
            .find(|p| p.spec().codec == codec)
            .map(|p| p.pt());
        pt
    }

    /// Sends video frame number `n` (and 20 ms audio frames to go with it).
    pub fn send_frame(&mut self, n: u64, video_bytes: usize, keyframe: bool, tag: u8) {
        let now = Instant::now();
        if let Some(mid) = self.video {
            if let Some(pt) = self.pt(mid, Codec::Vp8) {
                let size = if keyframe {
                    video_bytes * 4
                } else {
                    video_bytes
                };
                let time = MediaTime::new(n * 90_000 / FPS, Frequency::NINETY_KHZ);
                if self.layers.is_empty() {
                    if let Some(w) = self.rtc.writer(mid) {
                        let _ = w.write(pt, now, time, vp8_frame(size, keyframe, tag));
                    }
                }
                let count = self.layers.len();
                for (i, rid) in self.layers.clone().into_iter().enumerate() {
                    let scaled = size >> (2 * (count - 1 - i));
                    if let Some(w) = self.rtc.writer(mid) {
                        let mut frame = vp8_frame(scaled.max(12), keyframe, tag + i as u8);
                        if keyframe {
                            // A keyframe header's start code and width (RFC
                            // 6386 §9.1), so the server knows each layer's
                            // size: 1280 px at the top, halved per layer.
                            let width = 1280u16 >> (count - 1 - i);
                            frame[3..6].copy_from_slice(&[0x9d, 0x01, 0x2a]);
                            frame[6..8].copy_from_slice(&width.to_le_bytes());
                        }
                        let _ = w.rid(rid.into()).write(pt, now, time, frame);
                    }
                }
            }
        }
        // 30 fps video, 50 audio frames a second: send 5 audio frames per 3
        // video frames, spread evenly.
        if let Some(mid) = self.audio {
            if let Some(pt) = self.pt(mid, Codec::Opus) {
                let from = n * 50 / FPS;
                let to = (n + 1) * 50 / FPS;
                for a in from..to {
                    let time = MediaTime::new(a * 960, Frequency::FORTY_EIGHT_KHZ);
                    if let Some(w) = self.rtc.writer(mid) {
                        let level = self
                            .shared_level
                            .as_ref()
                            .map(|l| l.load(std::sync::atomic::Ordering::Relaxed))
                            .or(self.audio_level);
                        let w = match level {
                            Some(level) => w.audio_level(level, level > -50),
                            None => w,
                        };
                        let _ = w.write(pt, now, time, vec![0xfc; 80]);
                    }
                }
            }
        }
    }
}

/// Runs a publisher until `until`: frames at [`FPS`], a keyframe every
/// [`KEYFRAME_EVERY`] frames and whenever the server asks for one. Returns
/// how many keyframe requests arrived.
pub async fn publish_until(
    client: &mut Client,
    until: Instant,
    video_bytes: usize,
    tag: u8,
) -> u64 {
    let start = Instant::now();
    let mut n = 0u64;
    let mut requests = 0;
    let mut force_key = true;
    while Instant::now() < until {
        let next_frame = start + Duration::from_micros(n * 1_000_000 / FPS);
        while Instant::now() < next_frame {
            match client.next_event(next_frame.min(until)).await {
                Some(Event::KeyframeRequest(_)) => {
                    requests += 1;
                    force_key = true;
                }
                Some(_) => {}
                None => break,
            }
        }
        if client.connected {
            client.send_frame(n, video_bytes, force_key || n % KEYFRAME_EVERY == 0, tag);
            force_key = false;
        }
        n += 1;
    }
    requests
}

/// What a viewer received.
#[derive(Debug, Default, Clone)]
pub struct Watched {
    pub connected_at: Option<Instant>,
    pub first_video_at: Option<Instant>,
    pub first_video_was_keyframe: bool,
    pub video_frames: u64,
    pub audio_frames: u64,
    pub last_media_at: Option<Instant>,
    /// The filler bytes seen in video frames: whose frames these were.
    pub tags: std::collections::BTreeSet<u8>,
    /// The last frame's tag, and how often it changed from one frame to
    /// the next (a simulcast layer switch is one change; mixed layers are
    /// many).
    pub last_tag: Option<u8>,
    pub tag_changes: u32,
}

/// Runs a viewer until `until`, counting what arrives.
pub async fn watch_until(client: &mut Client, until: Instant) -> Watched {
    let mut w = Watched::default();
    while let Some(event) = client.next_event(until).await {
        let now = Instant::now();
        match event {
            Event::Connected => w.connected_at = Some(now),
            Event::MediaData(d) => {
                w.last_media_at = Some(now);
                if Some(d.mid) == client.video {
                    if w.first_video_at.is_none() {
                        w.first_video_at = Some(now);
                        w.first_video_was_keyframe = d.is_keyframe();
                    }
                    w.video_frames += 1;
                    if let Some(tag) = d.data.get(1) {
                        w.tags.insert(*tag);
                        if w.last_tag.is_some_and(|t| t != *tag) {
                            w.tag_changes += 1;
                        }
                        w.last_tag = Some(*tag);
                    }
                } else {
                    w.audio_frames += 1;
                }
            }
            _ => {}
        }
    }
    w
}
