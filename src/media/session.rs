//! One peer connection to the media server: a publisher's (it sends, we
//! receive) or a viewer's (we send what its broadcast's publisher sends).
//!
//! A thin layer over a `str0m::Rtc`: it feeds datagrams and time in, sends
//! what str0m wants sent, and hands the events the fan-out needs back to
//! the loop. str0m answers NACKs from its per-stream send buffer, sends the
//! receiver reports, NACKs and transport-wide congestion feedback a
//! publishing browser bases its bitrate on, and rewrites SSRCs, sequence
//! numbers and timestamps per viewer.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::media::{Direction, MediaKind, MediaTime, Mid, Rid};
use str0m::net::{Protocol, Receive};
use str0m::{Event, IceConnectionState, Input, Output, Rtc};
use uuid::Uuid;

use super::fanout::BroadcastKey;
use super::layers::{Health, Ladder};
use super::udp::{Sent, Sockets};
use super::Counters;

/// A session that has not connected by then never will (a LAN connects in
/// well under a second); it is dropped so an abandoned offer costs nothing.
pub const CONNECT_DEADLINE: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Publisher,
    Viewer,
}

/// Who asked for a session: a signaling peer of the app, or an HTTP client
/// (WHIP or WHEP) known only by the session's resource URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Peer(Uuid),
    Http,
}

pub struct Session {
    pub id: Uuid,
    pub rtc: Rtc,
    pub role: Role,
    pub key: BroadcastKey,
    pub owner: Owner,
    pub created: Instant,
    pub last_input: Instant,
    pub connected: bool,
    pub next_timeout: Instant,
    /// A viewer's outgoing mids, per kind.
    pub video_mid: Option<Mid>,
    pub audio_mid: Option<Mid>,
    /// A viewer gets no video until a keyframe: a delta frame without its
    /// reference shows as garbage or a frozen picture.
    pub awaiting_keyframe: bool,
    /// Set when the session must go (ICE gone, an error, a deadline).
    pub dead: bool,
    /// Simulcast (a viewer): the layer forwarded now, and the one it should
    /// move to on that layer's next keyframe.
    pub layer: Option<Rid>,
    pub target: Option<Rid>,
    /// Added to the RTP time of the layer forwarded, so the viewer's
    /// timestamps run on smoothly across a switch (each layer has its own).
    time_offset: i64,
    /// The last video frame written: its RTP time (90 kHz) and wall clock.
    last_video: Option<(u64, Instant)>,
    /// How this viewer's link did, from its last receiver reports.
    pub health: Health,
    /// Which simulcast layer it should get.
    pub ladder: Ladder,
    /// How wide its page shows this stream (device pixels), when it says.
    pub tile_width: Option<u32>,
}

/// What a session reports to the loop after it ran. These live in a `Vec`
/// the loop reuses, so the large variant costs nothing; boxing it would cost
/// an allocation per frame.
#[allow(clippy::large_enum_variant)]
pub enum Happened {
    Connected,
    Track(Mid, MediaKind),
    Media(str0m::media::MediaData),
    KeyframeWanted,
}

impl Session {
    pub fn new(
        id: Uuid,
        rtc: Rtc,
        role: Role,
        key: BroadcastKey,
        owner: Owner,
        now: Instant,
    ) -> Session {
        Session {
            id,
            rtc,
            role,
            key,
            owner,
            created: now,
            last_input: now,
            connected: false,
            next_timeout: now,
            video_mid: None,
            audio_mid: None,
            awaiting_keyframe: true,
            dead: false,
            layer: None,
            target: None,
            time_offset: 0,
            last_video: None,
            health: Health::Unknown,
            ladder: Ladder::default(),
            tile_width: None,
        }
    }

    /// Feeds one datagram; false when str0m did not take it (not ours).
    pub fn receive(
        &mut self,
        now: Instant,
        source: SocketAddr,
        local: SocketAddr,
        data: &[u8],
    ) -> bool {
        let Ok(contents) = data.try_into() else {
            return false;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination: local,
                contents,
            },
        );
        if !self.rtc.accepts(&input) {
            return false;
        }
        self.last_input = now;
        if self.rtc.handle_input(input).is_err() {
            self.dead = true;
        }
        true
    }

    /// Lets time pass for str0m (retransmissions, reports, ICE timers).
    pub fn tick(&mut self, now: Instant) {
        if self.rtc.handle_input(Input::Timeout(now)).is_err() {
            self.dead = true;
        }
    }

    /// Whether a deadline of ours has passed: silence for `silence` once
    /// connected, or no connection by [`CONNECT_DEADLINE`].
    pub fn expired(&self, now: Instant, silence: Duration) -> bool {
        if self.connected {
            now.saturating_duration_since(self.last_input) > silence
        } else {
            now.saturating_duration_since(self.created) > CONNECT_DEADLINE
        }
    }

    /// Drains str0m's output: sends datagrams, records the next timeout, and
    /// appends what the fan-out must know to `out`.
    pub fn drain(&mut self, sockets: &Sockets, counters: &Counters, out: &mut Vec<Happened>) {
        loop {
            if self.dead || !self.rtc.is_alive() {
                self.dead = true;
                return;
            }
            let output = match self.rtc.poll_output() {
                Ok(o) => o,
                Err(_) => {
                    self.dead = true;
                    return;
                }
            };
            match output {
                Output::Timeout(t) => {
                    self.next_timeout = t;
                    return;
                }
                Output::Transmit(t) => {
                    if let Sent::Dropped = sockets.send(t.source, t.destination, &t.contents) {
                        counters.add(&counters.send_dropped, 1);
                    } else {
                        counters.add(&counters.packets_out, 1);
                        counters.add(&counters.bytes_out, t.contents.len() as u64);
                    }
                }
                Output::Event(event) => self.on_event(event, out),
            }
        }
    }

    fn on_event(&mut self, event: Event, out: &mut Vec<Happened>) {
        match event {
            Event::Connected => {
                self.connected = true;
                out.push(Happened::Connected);
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => self.dead = true,
            Event::MediaAdded(added) => match (self.role, added.direction) {
                (Role::Publisher, Direction::RecvOnly | Direction::SendRecv) => {
                    out.push(Happened::Track(added.mid, added.kind))
                }
                (Role::Viewer, Direction::SendOnly | Direction::SendRecv) => match added.kind {
                    MediaKind::Video if self.video_mid.is_none() => {
                        self.video_mid = Some(added.mid)
                    }
                    MediaKind::Audio if self.audio_mid.is_none() => {
                        self.audio_mid = Some(added.mid)
                    }
                    _ => {}
                },
                _ => {}
            },
            Event::MediaData(data) if self.role == Role::Publisher => {
                out.push(Happened::Media(data))
            }
            Event::KeyframeRequest(_) if self.role == Role::Viewer => {
                out.push(Happened::KeyframeWanted)
            }
            Event::MediaEgressStats(stats) if Some(stats.mid) == self.video_mid => {
                self.health = Health::from_report(stats.loss, stats.rtt);
            }
            _ => {}
        }
    }

    /// Writes one of the publisher's frames to this viewer.
    pub fn forward(&mut self, kind: MediaKind, data: &str0m::media::MediaData) -> bool {
        let mid = match kind {
            MediaKind::Video => self.video_mid,
            MediaKind::Audio => self.audio_mid,
        };
        let Some(mid) = mid else { return false };
        let mut time = data.time;
        if kind == MediaKind::Video {
            if let Some(rid) = data.rid {
                // Simulcast: only the viewer's layer, and a new one from its
                // keyframe on.
                if self.layer != Some(rid) {
                    let wanted = self.target.or(self.layer).unwrap_or(rid);
                    if wanted != rid || !data.is_keyframe() {
                        return true; // not ours; nothing is missing
                    }
                    self.switch_to(rid, data);
                }
                time = self.shifted(data.time);
            }
            if self.awaiting_keyframe {
                if !data.is_keyframe() {
                    return false;
                }
                self.awaiting_keyframe = false;
            }
        }
        let Some(writer) = self.rtc.writer(mid) else {
            return false;
        };
        let Some(pt) = writer.match_params(data.params) else {
            return false;
        };
        if writer
            .write(pt, data.network_time, time, data.data.clone())
            .is_err()
        {
            self.dead = true;
            return false;
        }
        if kind == MediaKind::Video {
            self.last_video = Some((time.numer(), data.network_time));
        }
        true
    }

    /// Starts forwarding layer `rid` from its keyframe `data`: its RTP time
    /// is shifted to follow on from the last frame written, by the wall
    /// time between them.
    fn switch_to(&mut self, rid: Rid, data: &str0m::media::MediaData) {
        let incoming = to_90khz(data.time) as i64;
        self.time_offset = match self.last_video {
            Some((last, at)) => {
                let gap = data.network_time.saturating_duration_since(at);
                let ticks = (gap.as_micros() as i64 * 90 / 1000).max(1);
                last as i64 + ticks - incoming
            }
            None => 0,
        };
        self.layer = Some(rid);
        if self.target == Some(rid) {
            self.target = None;
        }
        self.awaiting_keyframe = false;
    }

    fn shifted(&self, time: MediaTime) -> MediaTime {
        let t = to_90khz(time) as i64 + self.time_offset;
        MediaTime::from_90khz(t.max(0) as u64)
    }
}

/// A video frame's RTP time in 90 kHz ticks (video's clock rate).
fn to_90khz(time: MediaTime) -> u64 {
    let denom = u64::from(time.denom().max(1));
    if denom == 90_000 {
        time.numer()
    } else {
        (u128::from(time.numer()) * 90_000 / u128::from(denom)) as u64
    }
}
