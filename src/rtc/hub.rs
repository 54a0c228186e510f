//! The hub owns the registry of signaling connections: who is connected, who
//! has identified under which name, and each connection's outbound queue.
//!
//! State lives behind a `std::sync::Mutex` that is only held for short,
//! await-free sections (a map lookup, or a loop of `try_send`s that never
//! block). That is simpler than an actor and avoids a channel round trip per
//! relayed message; it is safe because nothing inside the lock can wait.
//!
//! Every broadcast is serialized and framed once (see `frame`), and the
//! resulting bytes are shared among the recipients (cloning a [`Frame`] is a
//! reference-count increment).
//!
//! Connections are kept per room, so a room's announcements, relays and
//! "unknown target" answers only ever involve that room's members: a peer
//! looked up in its own room's map cannot reach one in another.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::frame::Frame;
use serde_json::Value;
use tokio::sync::watch;
use uuid::Uuid;

use super::meeting::{Full, Meeting, Member};
use super::outbox::{self, Inbox, Outbound, Outbox};
use super::protocol::{
    self, ErrorCode, Live, MeetingAction, ProtocolError, ReadyFields, ReadyTemplate, RejoinClaim,
};
use super::rejoin::Rejoin;
use super::room::Room;
use crate::config::Limits;
use crate::media::{BroadcastKey, Media};

/// Why the server closes a socket: a WebSocket close code and a short reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseReason {
    /// What `/metrics` calls it.
    pub label: &'static str,
    pub code: u16,
    pub reason: &'static str,
}

impl CloseReason {
    pub const GOING_AWAY: CloseReason = CloseReason {
        label: "shutdown",
        code: 1001,
        reason: "server shutting down",
    };
    pub const TOO_SLOW: CloseReason = CloseReason {
        label: "too-slow",
        code: 1008,
        reason: "not reading messages fast enough",
    };
    /// The page came back on a new connection and proved it (rejoin):
    /// this one was left behind by a drop the server had not noticed.
    pub const REPLACED: CloseReason = CloseReason {
        label: "replaced",
        code: 4000,
        reason: "this page is connected again on a newer connection",
    };
}

struct Entry {
    outbox: Outbox,
    close: watch::Sender<Option<CloseReason>>,
    /// Set by the first identify.
    name: Option<String>,
    /// Whether the peer says it is streaming live to viewers.
    live: bool,
    /// The appliance's media server holds this peer's broadcast.
    appliance: bool,
    /// A WHIP stream: a listed peer with no device or socket behind it.
    whip: bool,
    /// This peer's serialized announcement, reused for every newcomer.
    announce: Option<Frame>,
    /// The id this page had before, proved when it identified.
    was: Option<Uuid>,
}

impl Entry {
    /// What the room is told about this peer, under `id`.
    fn announcement(&self, id: Uuid, name: &str) -> Frame {
        let was = self.was.map(|w| w.hyphenated().to_string());
        protocol::peer(
            &id.hyphenated().to_string(),
            name,
            self.live_mode(),
            was.as_deref(),
        )
        .into()
    }

    fn live_mode(&self) -> Live {
        match (self.whip, self.live, self.appliance) {
            (true, _, _) => Live::Whip,
            (false, true, true) => Live::Appliance,
            (false, true, false) => Live::Direct,
            (false, false, _) => Live::Off,
        }
    }

    /// Queues without waiting; a full queue means the client is not reading,
    /// so it is told to close instead of growing our memory.
    fn push(&self, item: Outbound) {
        if self.whip {
            return; // nobody reads a stream's queue
        }
        if !self.outbox.push(item) {
            self.close.send_replace(Some(CloseReason::TOO_SLOW));
        }
    }
}

type Members = HashMap<Uuid, Entry>;

/// One side of a call carried through the appliance.
#[derive(Debug, Clone, Copy)]
struct CallRelay {
    partner: Uuid,
    publishing: bool,
}

struct State {
    /// Each room's connections; a room is dropped with its last member.
    rooms: HashMap<Room, Members>,
    /// Each room's meeting, while anyone is in it.
    meetings: HashMap<Room, Meeting>,
    /// Calls carried through the appliance: who asked for one with whom,
    /// and whether the media server holds the asker's stream. A pair may
    /// see each other's streams once both asked for each other.
    call_relays: HashMap<(Room, Uuid), CallRelay>,
    /// Connections in all rooms, for `MAX_PEERS`.
    count: usize,
    closing: bool,
}

impl State {
    fn entries(&self) -> impl Iterator<Item = (&Uuid, &Entry)> {
        self.rooms.values().flat_map(|members| members.iter())
    }
}

struct Inner {
    state: Mutex<State>,
    /// Number of live socket tasks; shutdown waits for it to reach 0, so every
    /// close frame has been sent (or timed out) before the process exits.
    tasks: watch::Sender<usize>,
    max_peers: usize,
    queue_frames: usize,
    queue_bytes: usize,
    /// `ready` for new connections, and what it is made of; rebuilt when
    /// the app's files or the LAN addresses change. The access key in it is
    /// handed to every connection (each has passed the key check), so the
    /// page can put it in the links it offers for sharing.
    ready: Mutex<(ReadyFields, ReadyTemplate)>,
    media: Option<Media>,
    metrics: Arc<crate::metrics::Metrics>,
    pipes: crate::pipe::Pipes,
    rejoin: Rejoin,
}

/// A cheap handle to the hub.
#[derive(Clone)]
pub struct Hub(Arc<Inner>);

pub(super) fn not_in_meeting(kind: &str) -> ProtocolError {
    ProtocolError::new(
        ErrorCode::NotInMeeting,
        "You are not in this room's meeting: send meeting with action join first.",
        Some(kind),
    )
}

/// A registered connection. Dropping it unregisters the connection and
/// announces its removal, so no peer outlives its socket — whatever way the
/// socket task ends.
pub struct Membership {
    pub id: Uuid,
    pub id_str: String,
    pub room: Room,
    pub outbox: Outbox,
    pub close: watch::Receiver<Option<CloseReason>>,
    /// Set by the first successful identify.
    identified: AtomicBool,
    /// Set once this connection asked the media server for anything, so
    /// only those connections make it look for sessions to end.
    used_media: AtomicBool,
    hub: Hub,
}

impl Membership {
    pub fn is_identified(&self) -> bool {
        self.identified.load(Ordering::Relaxed)
    }

    pub fn mark_media_use(&self) {
        self.used_media.store(true, Ordering::Relaxed);
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.hub.remove(self.id, &self.room);
        if let (true, Some(media)) = (self.used_media.load(Ordering::Relaxed), self.hub.media()) {
            media.peer_left(self.room.clone(), self.id);
        }
    }
}

/// Held by a socket task from the upgrade to its very end.
pub struct TaskGuard(Hub);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0 .0.tasks.send_modify(|n| *n -= 1);
    }
}

impl Hub {
    /// Counts a socket task until the guard is dropped.
    pub fn task_guard(&self) -> TaskGuard {
        self.0.tasks.send_modify(|n| *n += 1);
        TaskGuard(self.clone())
    }

    pub fn new(
        limits: &Limits,
        version: String,
        ice_servers: Value,
        access_key: Option<String>,
        media: Option<Media>,
    ) -> Hub {
        let fields = ReadyFields {
            version,
            ice_servers,
            access_key,
            media: media.is_some(),
            lan: None,
            landing: None,
        };
        let ready = ReadyTemplate::new(&fields, None);
        Hub(Arc::new(Inner {
            state: Mutex::new(State {
                rooms: HashMap::new(),
                meetings: HashMap::new(),
                call_relays: HashMap::new(),
                count: 0,
                closing: false,
            }),
            tasks: watch::Sender::new(0),
            max_peers: limits.max_peers,
            queue_frames: limits.outbound_queue,
            queue_bytes: limits.outbound_bytes,
            ready: Mutex::new((fields, ready)),
            media,
            metrics: Arc::default(),
            pipes: crate::pipe::Pipes::default(),
            rejoin: Rejoin::new(),
        }))
    }

    /// The counters behind `/metrics`.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.0.metrics
    }

    /// Signaling connections held, how many of them identified, and rooms
    /// with anyone in them (the lobby included).
    pub fn counts(&self) -> (usize, usize, usize) {
        let state = self.lock();
        let identified = state
            .entries()
            .filter(|(_, e)| e.name.is_some() && !e.whip)
            .count();
        (state.count, identified, state.rooms.len())
    }

    /// The media server, when it is on.
    pub fn media(&self) -> Option<&Media> {
        self.0.media.as_ref()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock means a panic elsewhere mid-update; the map itself is
        // still consistent enough to keep serving, which beats failing every
        // client from now on.
        self.0.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Announces a new asset version: every connection gets a fresh `ready`
    /// with its own id, the new version and the list of changed files.
    pub fn new_version(&self, version: &str, changed: &[String]) {
        let live = {
            let mut ready = self.0.ready.lock().unwrap_or_else(|p| p.into_inner());
            ready.0.version = version.to_string();
            ready.1 = ReadyTemplate::new(&ready.0, None);
            ReadyTemplate::new(&ready.0, Some(changed))
        };
        let state = self.lock();
        for (room, members) in &state.rooms {
            for (id, entry) in members {
                let token = self.0.rejoin.token(room, *id);
                let frame = live.for_id(&id.hyphenated().to_string(), &token);
                entry.push(Outbound::Frame(frame.into()));
            }
        }
    }

    /// The LAN origin new pages are given for sharing, and with `landing` the
    /// plain-HTTP landing on it (see `ReadyFields::landing`). Open pages keep
    /// the one they have: a machine that moved networks has lost their sockets
    /// anyway, and each reconnect brings a fresh `ready`.
    pub fn set_lan(&self, lan: Option<String>, landing: bool) {
        let mut ready = self.0.ready.lock().unwrap_or_else(|p| p.into_inner());
        ready.0.landing = lan
            .as_deref()
            .filter(|_| landing)
            .map(crate::net::landing_origin);
        ready.0.lan = lan;
        ready.1 = ReadyTemplate::new(&ready.0, None);
    }

    /// Registers a new connection in `room` and queues its `ready` message,
    /// or returns `None` when `MAX_PEERS` connections are held or the server
    /// is closing. The receiver is the connection's outbound queue, for its
    /// writer.
    pub fn register(&self, room: Room) -> Option<(Membership, Inbox)> {
        let id = Uuid::new_v4();
        let id_str = id.hyphenated().to_string();
        let rejoin = self.0.rejoin.token(&room, id);
        let (outbox, inbox) = outbox::outbox(self.0.queue_frames, self.0.queue_bytes);
        let (close_tx, close_rx) = watch::channel(None);
        {
            let mut state = self.lock();
            if state.closing || state.count >= self.0.max_peers {
                return None;
            }
            // Queued under the lock, so a new version announced meanwhile
            // cannot reach this connection before its first `ready`.
            let ready = self
                .0
                .ready
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .1
                .for_id(&id_str, &rejoin);
            outbox.push(Outbound::Frame(ready.into()));
            state.count += 1;
            state.rooms.entry(room.clone()).or_default().insert(
                id,
                Entry {
                    outbox: outbox.clone(),
                    close: close_tx,
                    name: None,
                    live: false,
                    appliance: false,
                    whip: false,
                    announce: None,
                    was: None,
                },
            );
        }
        Some((
            Membership {
                id,
                id_str,
                room,
                outbox,
                close: close_rx,
                identified: AtomicBool::new(false),
                used_media: AtomicBool::new(false),
                hub: self.clone(),
            },
            inbox,
        ))
    }

    /// Handles `identify`: the first one lists the newcomer in its room and
    /// tells it about everyone else there; later ones are renames or a change
    /// of the live flag. A first one with a proved `rejoin` is announced
    /// with the id it replaces, whose connection is closed if still held.
    pub fn identify(
        &self,
        me: &Membership,
        claimed_id: &str,
        name: String,
        live: bool,
        rejoin: Option<RejoinClaim>,
    ) -> Result<(), ProtocolError> {
        if claimed_id != me.id_str {
            return Err(ProtocolError::new(
                ErrorCode::BadId,
                "data.id must be the id this connection received in its ready message.",
                Some("identify"),
            ));
        }
        let mut guard = self.lock();
        let state = &mut *guard;
        let Some(members) = state.rooms.get_mut(&me.room) else {
            return Ok(());
        };
        let Some(entry) = members.get_mut(&me.id) else {
            return Ok(());
        };
        let first = entry.name.is_none();
        if let (true, Some(claim)) = (first, rejoin) {
            match Uuid::parse_str(&claim.id) {
                Ok(old) if old != me.id && self.0.rejoin.verify(&me.room, old, &claim.token) => {
                    entry.was = Some(old);
                }
                _ => {
                    // Not an error that stops the identify, so sent here
                    // rather than returned; counted like the others.
                    self.0.metrics.error(ErrorCode::BadRejoin.as_str());
                    entry.push(Outbound::Frame(
                        ProtocolError::new(
                            ErrorCode::BadRejoin,
                            "data.rejoin does not prove that id: it needs an id and its token from an earlier ready of this server, in this room. You are listed as a newcomer.",
                            Some("identify"),
                        )
                        .to_json()
                        .into(),
                    ))
                }
            }
        }
        if entry.name.as_deref() == Some(name.as_str()) && entry.live == live {
            return Ok(()); // nothing changed: nothing for anyone to learn
        }
        // Going off air ends a broadcast the appliance holds, whichever way
        // the page stopped.
        if !live && entry.appliance {
            entry.appliance = false;
            if let Some(media) = &self.0.media {
                media.unpublish(BroadcastKey {
                    room: me.room.clone(),
                    peer: me.id,
                });
            }
        }
        entry.live = live;
        let announce = entry.announcement(me.id, &name);
        entry.name = Some(name);
        entry.announce = Some(announce.clone());
        let was = entry.was.filter(|_| first);
        me.identified.store(true, Ordering::Relaxed);
        let members = &*members;
        // What it replaces: the old connection, and any other that proved
        // the same id before (only that page holds its token, so such a one
        // is a connection of it left behind). They are closed after this
        // one is announced, so the room hears "A' (was A)" before "A left",
        // and the newcomer is not told of them.
        let replaced = |id: &Uuid, e: &Entry| {
            was.is_some_and(|old| *id == old || (*id != me.id && e.was == Some(old)))
        };
        if first {
            // After the peers it names: who is in the room's meeting.
            let meeting: Option<Frame> = state
                .meetings
                .get(&me.room)
                .map(|m| m.to_message(self.max_meeting()).into());
            let others = members
                .iter()
                .filter(|(id, e)| **id != me.id && !replaced(id, e))
                .filter_map(|(_, e)| e.announce.as_ref())
                .chain(meeting.as_ref());
            // One item however large the room, so it cannot overflow the
            // newcomer's queue.
            let list = Frame::concat(others);
            if !list.is_empty() {
                if let Some(entry) = members.get(&me.id) {
                    entry.push(Outbound::Frame(list));
                }
            }
        }
        for (id, entry) in members.iter() {
            if *id != me.id && entry.name.is_some() {
                entry.push(Outbound::Presence(announce.clone()));
            }
        }
        for (_, old) in members.iter().filter(|(id, e)| replaced(id, e)) {
            old.close.send_replace(Some(CloseReason::REPLACED));
        }
        Ok(())
    }

    /// Delivers a message to one identified peer of the sender's room other
    /// than the sender, who must have identified too. `stamp` builds the frame with the sender's id,
    /// outside the lock, once the sender is known to be allowed to relay.
    pub fn relay(
        &self,
        from: &Membership,
        target: &str,
        kind: &str,
        stamp: impl FnOnce() -> String,
    ) -> Result<(), ProtocolError> {
        // Only this connection's own identify sets the flag, so checking it
        // needs no lock: a relay takes the hub lock once, for the target.
        if !from.identified.load(Ordering::Relaxed) {
            return Err(ProtocolError::new(
                ErrorCode::NotIdentified,
                "Send identify with your id and name before messaging other peers.",
                Some(kind),
            ));
        }
        let unknown = || {
            ProtocolError::new(
                ErrorCode::UnknownTarget,
                "data.target is not the id of another connected, identified peer.",
                Some(kind),
            )
        };
        let target = Uuid::parse_str(target).map_err(|_| unknown())?;
        if target == from.id {
            return Err(unknown());
        }
        // Serialize outside the lock; the target is looked up afresh below.
        let frame = stamp();
        let state = self.lock();
        match state.rooms.get(&from.room).and_then(|m| m.get(&target)) {
            Some(entry) if entry.whip => Err(ProtocolError::new(
                ErrorCode::NotCallable,
                "That peer is a stream sent to the appliance (WHIP): it can be watched, not called.",
                Some(kind),
            )),
            Some(entry) if entry.name.is_some() => {
                entry.push(Outbound::Frame(frame.into()));
                Ok(())
            }
            _ => Err(unknown()),
        }
    }

    /// Lists a WHIP stream in `room` as a live peer served by the appliance.
    /// False when `MAX_PEERS` is reached or the server is closing.
    pub fn add_stream(&self, room: &Room, id: Uuid, name: String) -> bool {
        let id_str = id.hyphenated().to_string();
        let announce: Frame = protocol::peer(&id_str, &name, Live::Whip, None).into();
        // A stream's queue is never read; pushes to it are skipped.
        let (outbox, _inbox) = outbox::outbox(1, 0);
        let mut state = self.lock();
        if state.closing || state.count >= self.0.max_peers {
            return false;
        }
        state.count += 1;
        let members = state.rooms.entry(room.clone()).or_default();
        for entry in members.values().filter(|e| e.name.is_some()) {
            entry.push(Outbound::Presence(announce.clone()));
        }
        members.insert(
            id,
            Entry {
                outbox,
                close: watch::Sender::new(None),
                name: Some(name),
                live: true,
                appliance: true,
                whip: true,
                announce: Some(announce),
                was: None,
            },
        );
        true
    }

    /// Takes a WHIP stream off the list.
    pub fn remove_stream(&self, room: &Room, id: Uuid) {
        self.remove(id, room);
    }

    /// Marks whether the appliance holds `id`'s broadcast, and tells the
    /// room when that changes what it sees.
    pub fn set_appliance(&self, room: &Room, id: Uuid, on: bool) {
        let mut state = self.lock();
        let Some(members) = state.rooms.get_mut(room) else {
            return;
        };
        let Some(entry) = members.get_mut(&id) else {
            return;
        };
        if entry.appliance == on || entry.whip {
            return;
        }
        entry.appliance = on;
        let Some(name) = &entry.name else { return };
        if !entry.live {
            return; // announced once the page says it is live
        }
        let announce = entry.announcement(id, name);
        entry.announce = Some(announce.clone());
        for (other, e) in members.iter() {
            if *other != id && e.name.is_some() {
                e.push(Outbound::Presence(announce.clone()));
            }
        }
    }

    /// The broadcaster's id when `target` names a peer of `room` whose
    /// broadcast the appliance serves.
    pub fn appliance_broadcast(&self, room: &Room, target: &str) -> Option<Uuid> {
        let target = Uuid::parse_str(target).ok()?;
        let state = self.lock();
        let entry = state.rooms.get(room)?.get(&target)?;
        (entry.appliance && entry.name.is_some()).then_some(target)
    }

    fn max_meeting(&self) -> usize {
        self.0.media.as_ref().map_or(0, |m| m.max_meeting)
    }

    /// Handles `meeting`: joining, leaving, or a member's microphone,
    /// camera and screen. Every change is told to the whole room.
    pub fn meeting(&self, me: &Membership, action: MeetingAction) -> Result<(), ProtocolError> {
        let Some(media) = self.media() else {
            return Err(ProtocolError::new(
                ErrorCode::MediaRefused,
                "Meetings go through this server's media server, which is off (MEDIA=off); call one person at a time instead.",
                Some("meeting"),
            ));
        };
        if !me.is_identified() {
            return Err(ProtocolError::new(
                ErrorCode::NotIdentified,
                "Send identify with your id and name before joining a meeting.",
                Some("meeting"),
            ));
        }
        let max = self.max_meeting();
        let mut state = self.lock();
        let changed = match action {
            MeetingAction::Join(flags) => {
                let meeting = state.meetings.entry(me.room.clone()).or_default();
                match meeting.join(me.id, flags, max) {
                    Ok(changed) => changed,
                    Err(Full { max }) => {
                        if meeting.is_empty() {
                            state.meetings.remove(&me.room);
                        }
                        return Err(ProtocolError::new(
                            ErrorCode::MeetingFull,
                            format!("The meeting in this room is full: it has {max} people, as many as this server allows (MAX_MEETING)."),
                            Some("meeting"),
                        ));
                    }
                }
            }
            MeetingAction::Leave => {
                let left = state
                    .meetings
                    .get_mut(&me.room)
                    .is_some_and(|m| m.leave(me.id));
                if left {
                    media.left_meeting(me.room.clone(), me.id);
                }
                left
            }
            MeetingAction::View(tiles) => {
                let Some(meeting) = state
                    .meetings
                    .get(&me.room)
                    .filter(|m| m.member(me.id).is_some())
                else {
                    return Err(not_in_meeting("meeting"));
                };
                let sizes: Vec<(Uuid, u32)> = tiles
                    .iter()
                    .filter_map(|(id, w)| Some((Uuid::parse_str(id).ok()?, *w)))
                    .filter(|(id, _)| *id != me.id && meeting.member(*id).is_some())
                    .collect();
                media.tile_sizes(me.room.clone(), me.id, sizes);
                false
            }
            MeetingAction::Update(flags) => {
                let Some(meeting) = state
                    .meetings
                    .get_mut(&me.room)
                    .filter(|m| m.member(me.id).is_some())
                else {
                    return Err(not_in_meeting("meeting"));
                };
                meeting.update(me.id, flags)
            }
        };
        if changed {
            me.mark_media_use();
            Self::tell_meeting(&mut state, &me.room, max);
        }
        Ok(())
    }

    /// Sends the room's meeting to everyone identified in the room (an
    /// empty list when it just ended), and forgets a meeting nobody is in.
    fn tell_meeting(state: &mut State, room: &Room, max: usize) {
        let frame: Frame = match state.meetings.get(room) {
            Some(m) => m.to_message(max),
            None => return,
        }
        .into();
        if state.meetings.get(room).is_some_and(Meeting::is_empty) {
            state.meetings.remove(room);
        }
        if let Some(members) = state.rooms.get(room) {
            for entry in members.values().filter(|e| e.name.is_some()) {
                entry.push(Outbound::Frame(frame.clone()));
            }
        }
    }

    /// A member of `room`'s meeting, if `id` is one.
    pub fn meeting_member(&self, room: &Room, id: Uuid) -> Option<Member> {
        self.lock().meetings.get(room)?.member(id).cloned()
    }

    /// Whether the media server holds `id`'s meeting stream.
    pub fn set_publishing(&self, room: &Room, id: Uuid, publishing: bool) {
        let mut state = self.lock();
        let changed = state
            .meetings
            .get_mut(room)
            .is_some_and(|m| m.set_publishing(id, publishing));
        if changed {
            Self::tell_meeting(&mut state, room, self.max_meeting());
        }
    }

    /// The media server's verdict on who speaks in `room`'s meeting.
    pub fn set_speaker(&self, room: &Room, speaker: Option<Uuid>) {
        let mut state = self.lock();
        let changed = state
            .meetings
            .get_mut(room)
            .is_some_and(|m| m.set_speaker(speaker));
        if changed {
            Self::tell_meeting(&mut state, room, self.max_meeting());
        }
    }

    /// Handles `call-relay`: `me` wants its call with `target` carried
    /// through the appliance (or, with `None`, no more). When both sides
    /// have asked, each is told when the other's stream is there.
    pub fn call_relay(&self, me: &Membership, target: Option<&str>) -> Result<(), ProtocolError> {
        let Some(media) = self.media() else {
            return Err(ProtocolError::new(
                ErrorCode::MediaRefused,
                "This server's media server is off (MEDIA=off), so it cannot carry calls.",
                Some("call-relay"),
            ));
        };
        if !me.is_identified() {
            return Err(ProtocolError::new(
                ErrorCode::NotIdentified,
                "Send identify with your id and name before asking for a call through the appliance.",
                Some("call-relay"),
            ));
        }
        let key = (me.room.clone(), me.id);
        let mut state = self.lock();
        let Some(target) = target else {
            if state.call_relays.remove(&key).is_some() {
                media.left_meeting(me.room.clone(), me.id);
            }
            return Ok(());
        };
        let partner = Uuid::parse_str(target)
            .ok()
            .filter(|t| *t != me.id)
            .filter(|t| {
                state
                    .rooms
                    .get(&me.room)
                    .and_then(|m| m.get(t))
                    .is_some_and(|e| e.name.is_some() && !e.whip)
            })
            .ok_or_else(|| {
                ProtocolError::new(
                    ErrorCode::UnknownTarget,
                    "data.target is not another identified peer of this room.",
                    Some("call-relay"),
                )
            })?;
        if state
            .meetings
            .get(&me.room)
            .is_some_and(|m| m.member(me.id).is_some())
        {
            return Err(ProtocolError::new(
                ErrorCode::BadMessage,
                "You are in this room's meeting; leave it before calling through the appliance.",
                Some("call-relay"),
            ));
        }
        let publishing = match state.call_relays.get(&key) {
            Some(r) if r.partner == partner => r.publishing,
            Some(_) => {
                // A call with someone else before: its streams end.
                media.left_meeting(me.room.clone(), me.id);
                false
            }
            None => false,
        };
        state.call_relays.insert(
            key,
            CallRelay {
                partner,
                publishing,
            },
        );
        me.mark_media_use();
        // The other side may be there already.
        let theirs = state
            .call_relays
            .get(&(me.room.clone(), partner))
            .filter(|r| r.partner == me.id)
            .copied();
        if let Some(theirs) = theirs {
            if theirs.publishing {
                me.outbox.push(Outbound::Frame(
                    protocol::call_relay(&partner.hyphenated().to_string(), true).into(),
                ));
            }
        }
        Ok(())
    }

    /// Whether `id` asked for a call through the appliance in `room`.
    pub fn in_call_relay(&self, room: &Room, id: Uuid) -> bool {
        self.lock().call_relays.contains_key(&(room.clone(), id))
    }

    /// The media server holds (or no longer holds) `id`'s call stream; its
    /// partner is told when both sides asked.
    pub fn set_call_publishing(&self, room: &Room, id: Uuid, publishing: bool) {
        let mut state = self.lock();
        let Some(relay) = state.call_relays.get_mut(&(room.clone(), id)) else {
            return;
        };
        relay.publishing = publishing;
        let partner = relay.partner;
        let mutual = state
            .call_relays
            .get(&(room.clone(), partner))
            .is_some_and(|r| r.partner == id);
        if mutual {
            if let Some(entry) = state.rooms.get(room).and_then(|m| m.get(&partner)) {
                entry.push(Outbound::Frame(
                    protocol::call_relay(&id.hyphenated().to_string(), publishing).into(),
                ));
            }
        }
    }

    /// Whether `me` may receive `target`'s stream through the media server,
    /// and if so whether it is there: both in the room's meeting, or the
    /// two sides of a call carried through the appliance.
    pub fn may_subscribe(&self, room: &Room, me: Uuid, target: Uuid) -> Option<bool> {
        let state = self.lock();
        if let Some(m) = state.meetings.get(room) {
            if let (Some(_), Some(t)) = (m.member(me), m.member(target)) {
                return Some(t.publishing);
            }
        }
        let mine = state.call_relays.get(&(room.clone(), me))?;
        let theirs = state.call_relays.get(&(room.clone(), target))?;
        (mine.partner == target && theirs.partner == me).then_some(theirs.publishing)
    }

    /// Whether `me` asked for a call through the appliance with `target`.
    pub fn call_partner(&self, room: &Room, me: Uuid) -> Option<Uuid> {
        self.lock()
            .call_relays
            .get(&(room.clone(), me))
            .map(|r| r.partner)
    }

    /// The pipes through the appliance, for file transfers.
    pub fn pipes(&self) -> &crate::pipe::Pipes {
        &self.0.pipes
    }

    /// `pipe` from `from`: a pipe for its transfer `transfer` to `target`
    /// (an identified peer of its room, as for any relay), announced to both
    /// ends with the path to connect to.
    pub fn pipe(
        &self,
        from: &Membership,
        target: &str,
        transfer: &str,
    ) -> Result<(), ProtocolError> {
        let token = self.0.pipes.issue(from.id).map_err(|refused| {
            ProtocolError::new(ErrorCode::PipeRefused, refused.message(), Some("pipe"))
        })?;
        let relayed = self.relay(from, target, "pipe", || {
            protocol::pipe(&from.id_str, transfer, &token)
        });
        if let Err(err) = relayed {
            self.0.pipes.revoke(&token);
            return Err(err);
        }
        from.outbox.push(Outbound::Frame(
            protocol::pipe(target, transfer, &token).into(),
        ));
        Ok(())
    }

    /// Queues a frame for one member of a room, if it is still there.
    pub fn send_to(&self, room: &Room, id: Uuid, frame: String) {
        let state = self.lock();
        if let Some(entry) = state.rooms.get(room).and_then(|m| m.get(&id)) {
            entry.push(Outbound::Frame(frame.into()));
        }
    }

    fn remove(&self, id: Uuid, room: &Room) {
        let mut state = self.lock();
        let closing = state.closing;
        let Some(members) = state.rooms.get_mut(room) else {
            return;
        };
        let Some(gone) = members.remove(&id) else {
            return;
        };
        // While shutting down everyone leaves at once; telling each of N
        // peers about the other N-1 leaving would cost O(N²) for nothing.
        if let (Some(name), false) = (gone.name, closing) {
            let frame: Frame = protocol::peer_removed(&id.hyphenated().to_string(), &name).into();
            for entry in members.values().filter(|e| e.name.is_some()) {
                entry.push(Outbound::Presence(frame.clone()));
            }
        }
        if members.is_empty() {
            state.rooms.remove(room);
        }
        state.count -= 1;
        state.call_relays.remove(&(room.clone(), id));
        let in_meeting = state.meetings.get_mut(room).is_some_and(|m| m.leave(id));
        if in_meeting && !closing {
            Self::tell_meeting(&mut state, room, self.max_meeting());
        } else if state.meetings.get(room).is_some_and(Meeting::is_empty) {
            state.meetings.remove(room);
        }
    }

    /// Refuses new connections and asks every socket to close with 1001.
    /// Returns once all have closed or `deadline` has passed.
    pub async fn shutdown(&self, deadline: std::time::Duration) {
        {
            let mut state = self.lock();
            state.closing = true;
            for (_, entry) in state.entries() {
                entry.close.send_replace(Some(CloseReason::GOING_AWAY));
            }
        }
        let mut tasks = self.0.tasks.subscribe();
        let _ = tokio::time::timeout(deadline, tasks.wait_for(|n| *n == 0)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_room_goes_with_its_last_member() {
        let hub = Hub::new(&Limits::default(), "v".into(), Value::Null, None, None);
        let room = Room::named("a").unwrap();
        let (one, _q1) = hub.register(room.clone()).unwrap();
        let (two, _q2) = hub.register(room).unwrap();
        let (lobby, _q3) = hub.register(Room::lobby()).unwrap();
        assert_eq!(hub.counts(), (3, 0, 2));
        drop(one);
        assert_eq!(hub.counts(), (2, 0, 2));
        drop(two);
        assert_eq!(hub.counts(), (1, 0, 1), "an empty room must not linger");
        drop(lobby);
        assert_eq!(hub.counts(), (0, 0, 0));
    }

    fn texts(inbox: &mut Inbox) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(item) = inbox.try_recv() {
            let texts = item.frame().texts().expect("whole text frames");
            out.extend(texts.into_iter().map(str::to_string));
        }
        out
    }

    #[test]
    fn pages_are_given_the_landing_only_when_it_is_offered() {
        let hub = Hub::new(&Limits::default(), "v".into(), Value::Null, None, None);
        let ready = |hub: &Hub| -> Value {
            let (_m, mut q) = hub.register(Room::lobby()).unwrap();
            serde_json::from_str(&texts(&mut q)[0]).unwrap()
        };
        let lan = Some("https://10.0.0.5:8443".to_string());
        hub.set_lan(lan.clone(), true);
        let offered = ready(&hub);
        assert_eq!(offered["lan"], "https://10.0.0.5:8443");
        assert_eq!(offered["landing"], "http://10.0.0.5:8443");
        // KEY/CERT, or an access key: the https origin only.
        hub.set_lan(lan, false);
        let not = ready(&hub);
        assert_eq!(not["lan"], "https://10.0.0.5:8443");
        assert_eq!(not.get("landing"), None, "{not}");
        // No LAN address: nothing to share but the page's own origin.
        hub.set_lan(None, true);
        let none = ready(&hub);
        assert_eq!((none.get("lan"), none.get("landing")), (None, None));
    }

    #[tokio::test]
    async fn leaving_is_announced_except_during_shutdown() {
        let hub = Hub::new(&Limits::default(), "v".into(), Value::Null, None, None);
        let (one, _q1) = hub.register(Room::lobby()).unwrap();
        let (two, mut q2) = hub.register(Room::lobby()).unwrap();
        let (three, mut q3) = hub.register(Room::lobby()).unwrap();
        for (m, name) in [(&one, "A"), (&two, "B"), (&three, "C")] {
            hub.identify(m, &m.id_str, name.into(), false, None)
                .unwrap();
        }
        texts(&mut q2);
        texts(&mut q3);
        drop(one);
        assert!(texts(&mut q2).iter().any(|t| t.contains("\"remove\":true")));
        texts(&mut q3);
        // Everyone leaves at once at shutdown: N² removal notices nobody
        // will read are not queued.
        hub.shutdown(std::time::Duration::ZERO).await;
        drop(two);
        assert_eq!(texts(&mut q3), Vec::<String>::new());
    }
}
