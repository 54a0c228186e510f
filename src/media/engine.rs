//! The media loop: one thread, one single-threaded runtime, every socket and
//! session. It wakes for a datagram, a command or the earliest session
//! timer, does the work that woke it, and goes back to sleep.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::SdpOffer;
use str0m::config::{CryptoProvider, DtlsCert};
use str0m::media::{KeyframeRequestKind, MediaData, MediaKind};
use str0m::{Candidate, Rtc};
use tokio::sync::mpsc;
use tracing::{debug, warn};
use uuid::Uuid;

use super::fanout::{Broadcast, BroadcastKey, Purpose};
use super::layers;
use super::session::{Happened, Owner, Role, Session};
use super::speaker::{self, Speaker};
use super::udp::{Bound, Routes, Sockets, MAX_DATAGRAM};
use super::{Answer, Command, Counters, MediaConfig, MediaError, Notice};
use crate::rtc::Room;

/// How often deadlines (connect, silence) are checked: they are tens of
/// seconds, so a second of slack is invisible.
const HOUSEKEEPING: Duration = Duration::from_secs(1);
/// How often the loop logs its rates (at debug level).
const STATS_EVERY: Duration = Duration::from_secs(10);
/// See `new_rtc`.
const SEND_BUFFER_VIDEO: usize = 300;
/// Tile sizes kept at most: 32 members each telling 31 widths, in a few
/// hundred rooms; past it new ones only reach running subscriptions.
const MAX_TILE_ENTRIES: usize = 100_000;
/// How often a viewer's receiver reports are summed up (see `layers`).
const REPORTS_EVERY: Duration = Duration::from_secs(1);
/// Datagrams read per wake-up before timers and commands get a turn, so a
/// flood cannot starve them.
const READ_BATCH: usize = 64;

pub fn run(
    bound: Bound,
    commands: mpsc::Receiver<Command>,
    notices: mpsc::Sender<Notice>,
    counters: Arc<Counters>,
    config: MediaConfig,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            warn!(%err, "the media server could not start its runtime");
            return;
        }
    };
    runtime.block_on(async move {
        let addrs = bound.addrs();
        let sockets = match bound.into_sockets() {
            Ok(s) => s,
            Err(err) => {
                warn!(%err, "the media server could not use its sockets");
                return;
            }
        };
        let Some(mut engine) = Engine::new(sockets, &addrs, notices, counters, config) else {
            return;
        };
        engine.run(commands).await;
    });
}

struct Engine {
    sockets: Sockets,
    routes: Routes,
    sessions: HashMap<Uuid, Session>,
    broadcasts: HashMap<BroadcastKey, Broadcast>,
    /// Each meeting's active speaker, by room.
    speakers: HashMap<Room, Speaker>,
    /// How wide each meeting member shows each other's tile, by (room,
    /// viewer, member): told once by the page, kept for subscriptions that
    /// are made (or made again) later.
    tiles: HashMap<(Room, Uuid, Uuid), u32>,
    next_speaker_tick: Instant,
    next_layer_choice: Instant,
    notices: mpsc::Sender<Notice>,
    counters: Arc<Counters>,
    config: MediaConfig,
    crypto: Arc<CryptoProvider>,
    /// One DTLS certificate for every session: generating a key pair per
    /// viewer would cost more than the rest of its set-up together.
    dtls: DtlsCert,
    candidates: Vec<Candidate>,
    /// Scratch space reused on every wake-up.
    happened: Vec<Happened>,
    due: Vec<Uuid>,
    dead: Vec<Uuid>,
    next_housekeeping: Instant,
    next_stats: Instant,
    last_stats: (u64, u64),
}

enum Woke {
    Command(Option<Command>),
    Datagram(std::io::Result<(usize, SocketAddr, SocketAddr)>),
    Timer,
}

impl Engine {
    fn new(
        sockets: Sockets,
        addrs: &[SocketAddr],
        notices: mpsc::Sender<Notice>,
        counters: Arc<Counters>,
        config: MediaConfig,
    ) -> Option<Engine> {
        let crypto = str0m::crypto::from_feature_flags();
        let Some(dtls) = crypto.dtls_provider.generate_certificate() else {
            warn!("the media server could not make its DTLS certificate");
            return None;
        };
        let candidates = addrs
            .iter()
            .filter_map(|a| Candidate::host(*a, "udp").ok())
            .collect();
        Some(Engine {
            sockets,
            routes: Routes::default(),
            sessions: HashMap::new(),
            broadcasts: HashMap::new(),
            speakers: HashMap::new(),
            tiles: HashMap::new(),
            next_speaker_tick: Instant::now() + speaker::TICK,
            next_layer_choice: Instant::now() + layers::CHOOSE_EVERY,
            notices,
            counters,
            config,
            crypto: Arc::new(crypto),
            dtls,
            candidates,
            happened: Vec::new(),
            due: Vec::new(),
            dead: Vec::new(),
            next_housekeeping: Instant::now() + HOUSEKEEPING,
            next_stats: Instant::now() + STATS_EVERY,
            last_stats: (0, 0),
        })
    }

    async fn run(&mut self, mut commands: mpsc::Receiver<Command>) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            let deadline = self.next_deadline();
            let woke = {
                let sockets = &self.sockets;
                let buf = &mut buf;
                tokio::select! {
                    biased;
                    c = commands.recv() => Woke::Command(c),
                    d = std::future::poll_fn(|cx| sockets.poll_recv(cx, buf)) => Woke::Datagram(d),
                    _ = tokio::time::sleep_until(deadline.into()) => Woke::Timer,
                }
            };
            match woke {
                Woke::Command(None) => break,
                Woke::Command(Some(c)) => self.command(c),
                Woke::Datagram(Ok((n, from, local))) => {
                    let now = Instant::now();
                    self.datagram(now, from, local, n, &buf);
                    for _ in 1..READ_BATCH {
                        let Some((n, from, local)) = self.sockets.try_recv(&mut buf) else {
                            break;
                        };
                        self.datagram(now, from, local, n, &buf);
                    }
                }
                // ICMP "port unreachable" from a peer that went away shows up
                // as a receive error on Linux; it is not ours to stop for.
                Woke::Datagram(Err(err)) => debug!(%err, "media socket read"),
                Woke::Timer => {}
            }
            self.timers(Instant::now());
        }
        for session in self.sessions.values_mut() {
            session.rtc.disconnect();
        }
    }

    fn next_deadline(&self) -> Instant {
        let mut t = self.next_housekeeping;
        for s in self.sessions.values() {
            t = t.min(s.next_timeout);
        }
        for b in self.broadcasts.values() {
            if let Some(due) = b.keyframes.next_due() {
                t = t.min(due);
            }
        }
        if !self.speakers.is_empty() || self.broadcasts.values().any(|b| b.speakers) {
            t = t.min(self.next_speaker_tick);
        }
        if self.broadcasts.values().any(|b| b.rates.is_simulcast()) {
            t = t.min(self.next_layer_choice);
        }
        t
    }

    fn datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        local: SocketAddr,
        n: usize,
        buf: &[u8],
    ) {
        let data = &buf[..n];
        self.counters.add(&self.counters.packets_in, 1);
        self.counters.add(&self.counters.bytes_in, n as u64);
        let Some((id, unbound)) = self.routes.lookup(from, data) else {
            self.counters.add(&self.counters.unknown_dropped, 1);
            return;
        };
        let Some(session) = self.sessions.get_mut(&id) else {
            self.counters.add(&self.counters.unknown_dropped, 1);
            return;
        };
        if !session.receive(now, from, local, data) {
            self.counters.add(&self.counters.unknown_dropped, 1);
            return;
        }
        if unbound {
            self.routes.bind(from, id);
        }
        self.after(id, now);
    }

    /// Drains a session after it was given input, and acts on what happened.
    fn after(&mut self, id: Uuid, now: Instant) {
        let mut happened = std::mem::take(&mut self.happened);
        let Some(session) = self.sessions.get_mut(&id) else {
            self.happened = happened;
            return;
        };
        session.drain(&self.sockets, &self.counters, &mut happened);
        let (key, role, dead) = (session.key.clone(), session.role, session.dead);
        for h in happened.drain(..) {
            match h {
                Happened::Connected => {
                    debug!(session = %id, ?role, "media session connected");
                    if role == Role::Viewer {
                        self.first_layer(id, &key, now);
                        self.want_keyframe(&key, now);
                    }
                }
                Happened::Track(mid, kind) => {
                    if let Some(b) = self.broadcasts.get_mut(&key) {
                        if b.publisher == id && b.kind_of(mid).is_none() {
                            b.tracks.push((mid, kind));
                        }
                    }
                }
                Happened::Media(data) => self.fan_out(&key, id, &data, now),
                Happened::KeyframeWanted => self.want_keyframe(&key, now),
            }
        }
        self.happened = happened;
        if dead {
            self.remove(id, "failed", true);
        }
    }

    /// Hands one of the publisher's frames to every connected viewer.
    fn fan_out(&mut self, key: &BroadcastKey, from: Uuid, data: &MediaData, now: Instant) {
        let Some(b) = self.broadcasts.get_mut(key) else {
            return;
        };
        if b.publisher != from {
            return;
        }
        let Some(kind) = b.kind_of(data.mid) else {
            return;
        };
        if kind == MediaKind::Audio && b.speakers {
            if let Some(level) = data.ext_vals.audio_level {
                b.loudness.add(level);
                if !b.gate.pass(level, now) {
                    return; // silence: nobody needs it forwarded
                }
            }
        }
        let mut want_keyframe = false;
        if let (MediaKind::Video, Some(rid)) = (kind, data.rid) {
            let width = data.is_keyframe().then(|| vp8_width(data)).flatten();
            b.rates.add(rid, data.data.len(), width, now);
        }
        if kind == MediaKind::Video {
            if data.is_keyframe() {
                b.keyframes.keyframe_seen();
            } else if !data.contiguous {
                // Packets were lost for good: viewers' pictures are broken
                // until the next keyframe.
                want_keyframe = true;
            }
        }
        let mut scratch = Vec::new();
        for viewer in &b.viewers {
            let Some(v) = self.sessions.get_mut(viewer) else {
                continue;
            };
            if !v.connected || v.dead {
                continue;
            }
            if !v.forward(kind, data) && kind == MediaKind::Video && v.awaiting_keyframe {
                want_keyframe = true;
            }
            v.drain(&self.sockets, &self.counters, &mut scratch);
            for h in scratch.drain(..) {
                if let Happened::KeyframeWanted = h {
                    want_keyframe = true;
                }
            }
            if v.dead {
                self.dead.push(*viewer);
            }
        }
        if want_keyframe {
            self.want_keyframe(key, now);
        }
        let dead = std::mem::take(&mut self.dead);
        for id in &dead {
            self.remove(*id, "failed", true);
        }
        self.dead = dead;
        self.dead.clear();
    }

    /// Asks the publisher for a keyframe, at most once per interval.
    fn want_keyframe(&mut self, key: &BroadcastKey, now: Instant) {
        let Some(b) = self.broadcasts.get_mut(key) else {
            return;
        };
        if b.keyframes.request(now) {
            Self::send_keyframe_request(&mut self.sessions, b, &self.sockets, &self.counters);
        }
    }

    fn send_keyframe_request(
        sessions: &mut HashMap<Uuid, Session>,
        b: &Broadcast,
        sockets: &Sockets,
        counters: &Counters,
    ) {
        // With simulcast, only the layers viewers are on or moving to (a
        // request without a layer reaches none of them).
        let mut rids: Vec<Option<str0m::media::Rid>> = Vec::new();
        if b.rates.is_simulcast() {
            for v in b.viewers.iter().filter_map(|id| sessions.get(id)) {
                let rid = v.target.or(v.layer);
                if let Some(rid) = rid.filter(|r| !rids.contains(&Some(*r))) {
                    rids.push(Some(rid));
                }
            }
        } else {
            rids.push(None);
        }
        let Some(p) = sessions.get_mut(&b.publisher) else {
            return;
        };
        for mid in b.video_mids() {
            if let Some(mut writer) = p.rtc.writer(mid) {
                for rid in &rids {
                    // PLI is what every browser and OBS answer; FIR only some.
                    let _ = writer.request_keyframe(*rid, KeyframeRequestKind::Pli);
                }
            }
        }
        let mut ignored = Vec::new();
        p.drain(sockets, counters, &mut ignored);
    }

    fn timers(&mut self, now: Instant) {
        let mut due = std::mem::take(&mut self.due);
        due.extend(
            self.sessions
                .iter()
                .filter(|(_, s)| s.next_timeout <= now)
                .map(|(id, _)| *id),
        );
        for id in due.drain(..) {
            if let Some(s) = self.sessions.get_mut(&id) {
                s.tick(now);
            }
            self.after(id, now);
        }
        self.due = due;
        for b in self.broadcasts.values_mut() {
            if b.keyframes.due(now) {
                Self::send_keyframe_request(&mut self.sessions, b, &self.sockets, &self.counters);
            }
        }
        if now >= self.next_layer_choice {
            self.next_layer_choice = now + layers::CHOOSE_EVERY;
            self.choose_layers(now);
        }
        if now >= self.next_speaker_tick {
            self.next_speaker_tick = now + speaker::TICK;
            self.speaker_tick();
        }
        if now >= self.next_housekeeping {
            self.next_housekeeping = now + HOUSEKEEPING;
            self.log_stats(now);
            let expired: Vec<Uuid> = self
                .sessions
                .iter()
                .filter(|(_, s)| s.dead || s.expired(now, self.config.silence))
                .map(|(id, _)| *id)
                .collect();
            for id in expired {
                self.remove(id, "failed", true);
            }
        }
    }

    /// A new viewer of a simulcast broadcast starts on the top layer its
    /// tile needs (from that layer's next keyframe, asked for next).
    fn first_layer(&mut self, id: Uuid, key: &BroadcastKey, now: Instant) {
        let (Some(b), Some(v)) = (self.broadcasts.get(key), self.sessions.get_mut(&id)) else {
            return;
        };
        if b.rates.is_simulcast() {
            let live = b.rates.ladder_for(v.tile_width, now);
            v.target = v.ladder.next(&live, None, v.health, now);
        }
    }

    /// Gives each viewer of a simulcast broadcast the layer its estimated
    /// bandwidth carries; a viewer that must move gets it on the new
    /// layer's next keyframe, which is asked for.
    fn choose_layers(&mut self, now: Instant) {
        let mut wanting = Vec::new();
        for b in self.broadcasts.values().filter(|b| b.rates.is_simulcast()) {
            let mut moving = false;
            for viewer in &b.viewers {
                let Some(v) = self.sessions.get_mut(viewer) else {
                    continue;
                };
                let live = b.rates.ladder_for(v.tile_width, now);
                let current = v.target.or(v.layer);
                let want = v.ladder.next(&live, current, v.health, now);
                tracing::trace!(owner = ?v.owner, of = %b.key.peer, health = ?v.health, layer = ?v.layer, ?want, rates = ?b.rates.summary(now), "layers");
                v.target = want.filter(|w| Some(*w) != v.layer);
                moving |= v.target.is_some();
            }
            if moving {
                wanting.push(b.key.clone());
            }
        }
        for key in wanting {
            self.want_keyframe(&key, now);
        }
    }

    /// Works out each meeting's loudest member and tells the room when it
    /// changed.
    fn speaker_tick(&mut self) {
        let mut levels: HashMap<Room, Vec<(Uuid, Option<u8>)>> = HashMap::new();
        for b in self.broadcasts.values_mut().filter(|b| b.speakers) {
            levels
                .entry(b.key.room.clone())
                .or_default()
                .push((b.key.peer, b.loudness.take()));
        }
        let mut changed = Vec::new();
        for (room, speaker) in self.speakers.iter_mut() {
            let members = levels.remove(room).unwrap_or_default();
            if let Some(peer) = speaker.tick(&members) {
                changed.push((room.clone(), peer));
            }
        }
        // Meetings without a speaker so far.
        for (room, members) in levels {
            let mut speaker = Speaker::default();
            if let Some(peer) = speaker.tick(&members) {
                changed.push((room.clone(), peer));
            }
            self.speakers.insert(room, speaker);
        }
        self.speakers.retain(|room, s| {
            s.current().is_some()
                || self
                    .broadcasts
                    .values()
                    .any(|b| b.speakers && b.key.room == *room)
        });
        for (room, peer) in changed {
            self.notify(Notice::Speaker { room, peer });
        }
    }

    /// A line at debug level every [`STATS_EVERY`] while anything runs.
    fn log_stats(&mut self, now: Instant) {
        if now < self.next_stats || self.sessions.is_empty() {
            return;
        }
        let secs = (now - self.next_stats + STATS_EVERY).as_secs_f64();
        self.next_stats = now + STATS_EVERY;
        let c = &self.counters;
        let read = |a: &std::sync::atomic::AtomicU64| Counters::get(a);
        let (pin, pout, drop_in, drop_out) = (
            read(&c.packets_in),
            read(&c.packets_out),
            read(&c.unknown_dropped),
            read(&c.send_dropped),
        );
        let (last_in, last_out) = self.last_stats;
        self.last_stats = (pin, pout);
        debug!(
            sessions = self.sessions.len(),
            broadcasts = self.broadcasts.len(),
            in_per_s = ((pin - last_in) as f64 / secs) as u64,
            out_per_s = ((pout - last_out) as f64 / secs) as u64,
            unknown_dropped = drop_in,
            send_dropped = drop_out,
            "media"
        );
    }

    fn command(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::Publish {
                key,
                owner,
                offer,
                purpose,
                reply,
            } => {
                let _ = reply.send(self.publish(key, owner, &offer, now, purpose));
            }
            Command::Watch {
                room,
                peer,
                owner,
                offer,
                meeting,
                reply,
            } => {
                let _ = reply.send(self.watch(room, peer, owner, &offer, now, meeting));
            }
            Command::End {
                room,
                session,
                reply,
            } => {
                let found = self
                    .sessions
                    .get(&session)
                    .is_some_and(|s| s.key.room == room);
                if found {
                    self.remove(session, "stopped", false);
                }
                if let Some(reply) = reply {
                    let _ = reply.send(found);
                }
            }
            Command::Unpublish { key } => {
                if let Some(publisher) = self.broadcasts.get(&key).map(|b| b.publisher) {
                    self.remove(publisher, "stopped", false);
                }
            }
            Command::StopWatching { key, viewer } => {
                let found = self.broadcasts.get(&key).and_then(|b| {
                    b.viewers
                        .iter()
                        .find(|v| {
                            self.sessions
                                .get(v)
                                .is_some_and(|s| s.owner == Owner::Peer(viewer))
                        })
                        .copied()
                });
                if let Some(id) = found {
                    self.remove(id, "stopped", false);
                }
            }
            Command::PeerLeft { room, peer } => {
                self.tiles
                    .retain(|(r, viewer, _), _| !(*r == room && *viewer == peer));
                let gone: Vec<Uuid> = self
                    .sessions
                    .iter()
                    .filter(|(_, s)| s.key.room == room && s.owner == Owner::Peer(peer))
                    .map(|(id, _)| *id)
                    .collect();
                for id in gone {
                    self.remove(id, "left", false);
                }
            }
            Command::LeftMeeting { room, peer } => {
                self.tiles
                    .retain(|(r, viewer, _), _| !(*r == room && *viewer == peer));
                let gone: Vec<Uuid> = self
                    .sessions
                    .iter()
                    .filter(|(_, s)| s.key.room == room && s.owner == Owner::Peer(peer))
                    .filter(|(_, s)| self.broadcasts.get(&s.key).is_some_and(|b| b.meeting))
                    .map(|(id, _)| *id)
                    .collect();
                for id in gone {
                    self.remove(id, "left", false);
                }
            }
            Command::TileSizes {
                room,
                viewer,
                sizes,
            } => {
                for (peer, width) in sizes {
                    if self.tiles.len() < MAX_TILE_ENTRIES {
                        self.tiles.insert((room.clone(), viewer, peer), width);
                    }
                    let key = BroadcastKey {
                        room: room.clone(),
                        peer,
                    };
                    let Some(b) = self.broadcasts.get(&key) else {
                        continue;
                    };
                    for id in &b.viewers {
                        if let Some(v) = self.sessions.get_mut(id) {
                            if v.owner == Owner::Peer(viewer) {
                                v.tile_width = Some(width);
                            }
                        }
                    }
                }
            }
            Command::Broadcasts { room, reply } => {
                let _ = reply.send(self.room_broadcasts(&room));
            }
        }
    }

    fn room_broadcasts(&self, room: &Room) -> Vec<Uuid> {
        let mut list: Vec<&Broadcast> = self
            .broadcasts
            .values()
            .filter(|b| b.key.room == *room && !b.meeting)
            .collect();
        list.sort_by_key(|b| std::cmp::Reverse(b.started));
        list.into_iter().map(|b| b.key.peer).collect()
    }

    /// A session's `Rtc`; with `reports`, one that hands over its viewer's
    /// receiver reports each second (simulcast layers are chosen by them).
    fn new_rtc(&self, now: Instant, reports: bool) -> Rtc {
        let mut rtc = Rtc::builder()
            .set_stats_interval(reports.then_some(REPORTS_EVERY))
            .set_ice_lite(true)
            .set_crypto_provider(self.crypto.clone())
            .set_dtls_cert(self.dtls.clone())
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .enable_h264(true)
            // Packets kept per viewer for retransmission. str0m's default
            // of 1000 was 1.2 MB a viewer (460 MiB at 200 viewers); 300
            // is 1.4 s of a 2 Mbit/s stream, hundreds of LAN round trips.
            .set_send_buffer_video(SEND_BUFFER_VIDEO)
            .build(now);
        for c in &self.candidates {
            rtc.add_local_candidate(c.clone());
        }
        rtc
    }

    /// Answers an offer and registers the session; `role` says which
    /// direction the answer must carry media in.
    fn open(
        &mut self,
        offer: &str,
        role: Role,
        key: BroadcastKey,
        owner: Owner,
        now: Instant,
    ) -> Result<(Uuid, String), MediaError> {
        let parsed = parse_offer(offer)?;
        // A viewer of a meeting member or of a simulcast stream: its link's
        // health picks its layer.
        let reports = role == Role::Viewer
            && self
                .broadcasts
                .get(&key)
                .is_some_and(|b| b.meeting || b.rates.is_simulcast());
        let mut rtc = self.new_rtc(now, reports);
        // The offer is a stranger's text: should str0m panic on some corner
        // of it, that offer is refused and the loop (every other session)
        // goes on.
        let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rtc.sdp_api().accept_offer(parsed)
        }))
        .map_err(|_| MediaError::NoMedia("it could not be negotiated".into()))?
        .map_err(|e| MediaError::NoMedia(e.to_string()))?;
        let sdp = answer.to_sdp_string();
        let wanted = match role {
            Role::Publisher => "a=recvonly",
            Role::Viewer => "a=sendonly",
        };
        if !has_media(&sdp, wanted) {
            return Err(MediaError::NoMedia(match role {
                Role::Publisher => "it sends no audio or video in a codec this server takes".into(),
                Role::Viewer => "it receives no audio or video in a codec this server sends".into(),
            }));
        }
        let Some(ufrag) = ice_ufrag(&sdp) else {
            return Err(MediaError::NoMedia(
                "the answer has no ICE credentials".into(),
            ));
        };
        let id = Uuid::new_v4();
        self.routes.add_session(ufrag.to_string(), id);
        self.sessions
            .insert(id, Session::new(id, rtc, role, key, owner, now));
        self.counters.sessions.store(
            self.sessions.len() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        Ok((id, sdp))
    }

    fn publish(
        &mut self,
        key: BroadcastKey,
        owner: Owner,
        offer: &str,
        now: Instant,
        purpose: Purpose,
    ) -> Result<Answer, MediaError> {
        // Parse before ending anything: a bad offer must not stop a good stream.
        parse_offer(offer)?;
        if let Some(old) = self.broadcasts.get(&key).map(|b| b.publisher) {
            self.remove(old, "stopped", false);
        }
        let (id, sdp) = self.open(offer, Role::Publisher, key.clone(), owner, now)?;
        self.broadcasts
            .insert(key.clone(), Broadcast::new(key.clone(), id, now, purpose));
        self.counters.broadcasts.store(
            self.broadcasts.len() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        self.after(id, now);
        Ok(Answer {
            session: id,
            peer: key.peer,
            sdp,
        })
    }

    fn watch(
        &mut self,
        room: Room,
        peer: Option<Uuid>,
        owner: Owner,
        offer: &str,
        now: Instant,
        meeting: bool,
    ) -> Result<Answer, MediaError> {
        let peer = match peer {
            Some(p) => p,
            None => *self
                .room_broadcasts(&room)
                .first()
                .ok_or(MediaError::NoBroadcast)?,
        };
        let key = BroadcastKey { room, peer };
        let Some(b) = self.broadcasts.get(&key).filter(|b| b.meeting == meeting) else {
            return Err(MediaError::NoBroadcast);
        };
        // A peer that asks again (its page restarted its stream) replaces
        // its old session rather than taking a second place.
        let again = match owner {
            Owner::Peer(_) => b
                .viewers
                .iter()
                .find(|v| self.sessions.get(v).is_some_and(|s| s.owner == owner))
                .copied(),
            Owner::Http => None,
        };
        if again.is_none() && b.viewers.len() >= self.config.max_viewers {
            return Err(MediaError::Full);
        }
        parse_offer(offer)?;
        if let Some(old) = again {
            self.remove(old, "stopped", false);
        }
        let (id, sdp) = self.open(offer, Role::Viewer, key.clone(), owner, now)?;
        if let Some(b) = self.broadcasts.get_mut(&key) {
            b.viewers.push(id);
        }
        if let (Owner::Peer(viewer), Some(session)) = (owner, self.sessions.get_mut(&id)) {
            session.tile_width = self
                .tiles
                .get(&(key.room.clone(), viewer, key.peer))
                .copied();
        }
        self.audience_changed(&key);
        self.after(id, now);
        Ok(Answer {
            session: id,
            peer,
            sdp,
        })
    }

    /// Removes a session. A publisher takes its broadcast and every viewer
    /// with it. `notify` tells the signaling side about this session's end
    /// (not wanted when its owner asked for it).
    fn remove(&mut self, id: Uuid, reason: &'static str, notify: bool) {
        let meeting = self
            .sessions
            .get(&id)
            .and_then(|s| self.broadcasts.get(&s.key))
            .is_some_and(|b| b.meeting);
        self.remove_session(id, reason, notify, meeting);
    }

    /// [`Engine::remove`] for a session whose broadcast may be gone already
    /// (its publisher's removal ends each viewer): `meeting` says which
    /// kind it was.
    fn remove_session(&mut self, id: Uuid, reason: &'static str, notify: bool, meeting: bool) {
        let Some(mut session) = self.sessions.remove(&id) else {
            return;
        };
        session.rtc.disconnect();
        self.routes.remove_session(id);
        match session.role {
            Role::Viewer => {
                if let Some(b) = self.broadcasts.get_mut(&session.key) {
                    b.viewers.retain(|v| *v != id);
                }
                self.audience_changed(&session.key);
                if notify {
                    self.notify(Notice::ViewerEnded {
                        key: session.key.clone(),
                        viewer: session.owner,
                        reason,
                        meeting,
                    });
                }
            }
            Role::Publisher => {
                let is_current = self
                    .broadcasts
                    .get(&session.key)
                    .is_some_and(|b| b.publisher == id);
                if is_current {
                    if let Some(b) = self.broadcasts.remove(&session.key) {
                        debug!(peer = %b.key.peer, viewers = b.viewers.len(), "broadcast ended");
                        for viewer in b.viewers {
                            self.remove_session(viewer, "stopped", true, b.meeting);
                        }
                    }
                    self.notify(Notice::BroadcastEnded {
                        key: session.key.clone(),
                        owner: session.owner,
                        reason,
                        meeting,
                    });
                }
            }
        }
        self.counters.sessions.store(
            self.sessions.len() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        self.counters.broadcasts.store(
            self.broadcasts.len() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// Tells an app broadcaster how many watch (a WHIP client has no one
    /// to tell).
    fn audience_changed(&self, key: &BroadcastKey) {
        let Some(b) = self.broadcasts.get(key) else {
            return;
        };
        let publisher = self.sessions.get(&b.publisher);
        if b.meeting {
            return; // every member watches every other; nobody counts
        }
        if publisher.is_some_and(|p| matches!(p.owner, Owner::Peer(_))) {
            self.notify(Notice::Audience {
                key: key.clone(),
                viewers: b.viewers.len(),
            });
        }
    }

    fn notify(&self, notice: Notice) {
        if self.notices.try_send(notice).is_err() {
            warn!("media notices queue full; a viewer may not hear that its stream ended");
        }
    }
}

/// A VP8 keyframe's picture width (RFC 6386 §9.1: after the 3-byte frame
/// tag, the start code 9d 01 2a, then 14 bits of width).
fn vp8_width(data: &MediaData) -> Option<u16> {
    if !matches!(data.codec_extra, str0m::format::CodecExtra::Vp8(_)) {
        return None;
    }
    let d = &data.data;
    (d.len() >= 10 && d[3..6] == [0x9d, 0x01, 0x2a])
        .then(|| u16::from_le_bytes([d[6], d[7]]) & 0x3fff)
}

fn parse_offer(offer: &str) -> Result<SdpOffer, MediaError> {
    std::panic::catch_unwind(|| SdpOffer::from_sdp_string(offer))
        .map_err(|_| MediaError::BadSdp("it could not be parsed".into()))?
        .map_err(|e| MediaError::BadSdp(parse_error_text(&e.to_string())))
}

/// The parser's error on one line, without its internal pointers: what a
/// person can act on ("Unexpected end of input; Expected `o`; sdp line").
fn parse_error_text(raw: &str) -> String {
    let useful: Vec<&str> = raw
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains("PointerOffset"))
        .collect();
    if useful.is_empty() {
        "it could not be parsed".into()
    } else {
        useful.join("; ")
    }
}

/// Whether an SDP has an active audio or video section with `direction`
/// (or sendrecv).
fn has_media(sdp: &str, direction: &str) -> bool {
    let mut active = false;
    for line in sdp.lines().map(str::trim_end) {
        if let Some(rest) = line.strip_prefix("m=") {
            let mut fields = rest.split(' ');
            let kind = fields.next();
            let port = fields.next();
            active = matches!(kind, Some("audio" | "video")) && port != Some("0");
        } else if active && (line == direction || line == "a=sendrecv") {
            return true;
        }
    }
    false
}

fn ice_ufrag(sdp: &str) -> Option<&str> {
    sdp.lines()
        .find_map(|l| l.trim_end().strip_prefix("a=ice-ufrag:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_sections_and_directions() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=recvonly\r\nm=video 0 UDP/TLS/RTP/SAVPF 96\r\na=sendonly\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=sendonly\r\n";
        assert!(has_media(sdp, "a=recvonly"));
        assert!(
            !has_media(sdp, "a=sendonly"),
            "a rejected m-line and data channels do not count"
        );
        assert_eq!(ice_ufrag("a=x\r\na=ice-ufrag:abcd\r\n"), Some("abcd"));
    }

    #[test]
    fn sdp_parse_errors_read_as_one_line() {
        let raw = "SDP parse: Parse error at PointerOffset(0x7f11a0002023)\nUnexpected end of input\nExpected `o`\nsdp line\n";
        assert_eq!(
            parse_error_text(raw),
            "Unexpected end of input; Expected `o`; sdp line"
        );
        let err = parse_offer("v=0").unwrap_err().message();
        assert!(
            !err.contains("PointerOffset") && !err.contains('\n'),
            "{err}"
        );
    }
}
