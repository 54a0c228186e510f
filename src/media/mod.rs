//! The media server: a selective forwarding unit (SFU) inside the binary.
//! A broadcaster uploads one stream; the appliance forwards its packets to
//! every viewer, so the broadcaster's CPU and uplink no longer grow with the
//! audience.
//!
//! Design:
//! - One event loop owns the UDP sockets and every session (`engine`), on a
//!   thread of its own with a single-threaded runtime: the hot path takes no
//!   lock and shares nothing, and HTTP or signaling load cannot delay it.
//! - Signaling and HTTP talk to it through [`Media`], a handle that sends
//!   [`Command`]s over a bounded channel and awaits the reply on a oneshot.
//!   The loop tells the signaling side about endings through [`Notice`]s on
//!   another bounded channel; nothing on the media path touches the hub.
//! - Sessions are `str0m::Rtc` instances (sans-IO WebRTC) in ICE-lite mode,
//!   one per peer connection (`session`); the publisher's frames are handed
//!   to each viewer's writer as shared `Arc<[u8]>`, so a frame is copied
//!   once per viewer only where str0m packetizes and encrypts it.
//! - Datagrams are routed by source address, or by the ICE username in a
//!   STUN request before the address is known (`udp`). The per-broadcast
//!   bookkeeping and keyframe coalescing are pure (`fanout`), and so are
//!   a meeting's speaker (`speaker`) and each receiver's simulcast layer
//!   (`layers`).
//!
//! Why str0m and not webrtc-rs: str0m is sans-IO (the loop decides when to
//! read, write and wake, so one thread serves hundreds of sessions with no
//! task per track), it was built for SFUs (its `chat` example is one), its
//! pure-Rust crypto keeps the binary free of C libraries, and its API hands
//! us frames and keyframe requests rather than a browser-like object model.

mod engine;
pub mod fanout;
pub mod layers;
pub mod session;
pub mod speaker;
pub mod udp;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

pub use fanout::{BroadcastKey, Purpose};
pub use session::Owner;

use crate::rtc::Room;

/// Commands waiting for the loop. Each is a short piece of work (an SDP
/// answer), so a few hundred absorb a burst of viewers arriving at once;
/// past that callers are told the server is busy instead of queueing.
const COMMAND_QUEUE: usize = 256;
/// Notices waiting for the signaling side; they are rare (a session ended).
const NOTICE_QUEUE: usize = 1024;

/// Counters of the loop, readable from anywhere.
#[derive(Debug, Default)]
pub struct Counters {
    pub packets_in: AtomicU64,
    pub bytes_in: AtomicU64,
    pub packets_out: AtomicU64,
    pub bytes_out: AtomicU64,
    /// Datagrams from addresses no session knows (or not for any session).
    pub unknown_dropped: AtomicU64,
    /// Datagrams the kernel would not take (send buffer full).
    pub send_dropped: AtomicU64,
    pub sessions: AtomicU64,
    pub broadcasts: AtomicU64,
}

impl Counters {
    pub fn add(&self, counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Why the media server turned a request down; each maps to an HTTP status
/// and a sentence for the person or tool that sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaError {
    /// The body is not an SDP offer.
    BadSdp(String),
    /// An SDP offer with nothing this server can send or receive.
    NoMedia(String),
    /// No broadcast where one was asked for.
    NoBroadcast,
    /// The broadcast has `MAX_VIEWERS` viewers.
    Full,
    /// The loop's queue is full, or it has stopped.
    Busy,
}

impl MediaError {
    pub fn message(&self) -> String {
        match self {
            MediaError::BadSdp(why) => format!("The body is not an SDP offer ({why})."),
            MediaError::NoMedia(why) => format!("The offer has no media this server can use: {why}. It forwards Opus audio and VP8 or H.264 video."),
            MediaError::NoBroadcast => "Nobody is broadcasting there right now.".to_string(),
            MediaError::Full => "This broadcast has as many viewers as the server allows (MAX_VIEWERS); try again when someone stops watching.".to_string(),
            MediaError::Busy => "The media server is busy; try again in a moment.".to_string(),
        }
    }
}

/// A session the loop accepted.
#[derive(Debug, Clone)]
pub struct Answer {
    pub session: Uuid,
    /// The broadcast's peer (for a viewer: the one it watches).
    pub peer: Uuid,
    pub sdp: String,
}

/// What the loop tells the signaling side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A broadcast ended: its publisher left, failed, or was replaced.
    BroadcastEnded {
        key: BroadcastKey,
        owner: Owner,
        reason: &'static str,
        meeting: bool,
    },
    /// The number of viewers of an app peer's broadcast changed.
    Audience { key: BroadcastKey, viewers: usize },
    /// A viewer's session ended without the viewer asking (its broadcast
    /// ended, or the connection failed).
    ViewerEnded {
        key: BroadcastKey,
        viewer: Owner,
        reason: &'static str,
        meeting: bool,
    },
    /// The active speaker of the meeting in `room` changed (`None`: nobody,
    /// the speaker left).
    Speaker { room: Room, peer: Option<Uuid> },
}

/// What the loop can be asked.
pub(crate) enum Command {
    Publish {
        key: BroadcastKey,
        owner: Owner,
        offer: String,
        purpose: Purpose,
        reply: oneshot::Sender<Result<Answer, MediaError>>,
    },
    Watch {
        room: Room,
        /// `None`: the room's newest broadcast.
        peer: Option<Uuid>,
        owner: Owner,
        offer: String,
        /// Watching a meeting member (only meeting broadcasts), or a live
        /// stream (never a meeting member's).
        meeting: bool,
        reply: oneshot::Sender<Result<Answer, MediaError>>,
    },
    /// Ends one session; replies whether it existed in that room.
    End {
        room: Room,
        session: Uuid,
        reply: Option<oneshot::Sender<bool>>,
    },
    /// Ends the broadcast of `key` (its publisher stopped).
    Unpublish { key: BroadcastKey },
    /// Ends `viewer`'s session on the broadcast of `key`.
    StopWatching { key: BroadcastKey, viewer: Uuid },
    /// A signaling peer left: everything it published or watched ends.
    PeerLeft { room: Room, peer: Uuid },
    /// A peer left its room's meeting: what it published or watched there
    /// ends; a live stream it watches does not.
    LeftMeeting { room: Room, peer: Uuid },
    /// How wide `viewer` shows each member's tile (device pixels).
    TileSizes {
        room: Room,
        viewer: Uuid,
        sizes: Vec<(Uuid, u32)>,
    },
    /// The broadcasts of a room, newest first.
    Broadcasts {
        room: Room,
        reply: oneshot::Sender<Vec<Uuid>>,
    },
}

/// Settings the loop runs with.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    pub max_viewers: usize,
    /// See [`crate::config::MediaSettings::max_meeting`]; the signaling side
    /// enforces it.
    pub max_meeting: usize,
    /// See [`crate::config::MediaSettings::silence`].
    pub silence: std::time::Duration,
}

/// A handle to the media loop; cheap to clone.
#[derive(Clone)]
pub struct Media {
    commands: mpsc::Sender<Command>,
    counters: Arc<Counters>,
    addrs: Arc<Vec<SocketAddr>>,
    pub max_viewers: usize,
    pub max_meeting: usize,
}

/// The addresses the media sockets are bound to: the `BIND` address itself,
/// or, for a wildcard, each LAN address of its family (loopback when the
/// machine has none, so a browser on this machine still works).
pub fn socket_addresses(bind: IpAddr) -> Vec<IpAddr> {
    if !bind.is_unspecified() {
        return vec![bind];
    }
    let mut ips: Vec<IpAddr> = crate::net::lan_addresses()
        .into_iter()
        .filter(|ip| bind.is_ipv6() || ip.is_ipv4())
        .collect();
    if ips.is_empty() {
        ips.push(if bind.is_ipv6() {
            IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
        } else {
            IpAddr::from([127, 0, 0, 1])
        });
    }
    ips
}

/// Binds the media port on `ips` and starts the loop on its own thread.
/// Returns the handle and the receiver of the loop's notices.
pub fn start(
    ips: &[IpAddr],
    port: u16,
    config: MediaConfig,
) -> Result<(Media, mpsc::Receiver<Notice>)> {
    let bound = udp::Bound::bind(ips, port).with_context(|| {
        format!(
            "cannot open the media port: UDP port {port} on {} is not available; set MEDIA_PORT to another port (0 picks a free one), or MEDIA=off to stream from the devices themselves",
            ips.iter().map(|ip| ip.to_string()).collect::<Vec<_>>().join(", ")
        )
    })?;
    let addrs = Arc::new(bound.addrs());
    let counters = Arc::new(Counters::default());
    let (commands, command_rx) = mpsc::channel(COMMAND_QUEUE);
    let (notices, notice_rx) = mpsc::channel(NOTICE_QUEUE);
    let loop_counters = counters.clone();
    let (max_viewers, max_meeting) = (config.max_viewers, config.max_meeting);
    std::thread::Builder::new()
        .name("lanrtc-media".into())
        .spawn(move || engine::run(bound, command_rx, notices, loop_counters, config))
        .context("cannot start the media thread")?;
    Ok((
        Media {
            commands,
            counters,
            addrs,
            max_viewers,
            max_meeting,
        },
        notice_rx,
    ))
}

impl Media {
    /// The UDP addresses the media server listens on.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    pub fn port(&self) -> u16 {
        self.addrs.first().map(|a| a.port()).unwrap_or(0)
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Queues a command at once (so it is ordered before anything sent
    /// later, such as the peer leaving) and returns the wait for its reply.
    fn ask<T: Send + 'static>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> impl std::future::Future<Output = Option<T>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let sent = self.commands.try_send(make(tx)).is_ok();
        async move {
            if !sent {
                return None;
            }
            rx.await.ok()
        }
    }

    /// A publisher's offer: answered with a session that receives its media.
    /// A broadcast already held by the same peer in the room is replaced.
    pub fn publish(
        &self,
        key: BroadcastKey,
        owner: Owner,
        offer: String,
        purpose: Purpose,
    ) -> impl std::future::Future<Output = Result<Answer, MediaError>> + Send + 'static {
        let reply = self.ask(move |reply| Command::Publish {
            key,
            owner,
            offer,
            purpose,
            reply,
        });
        async move { reply.await.unwrap_or(Err(MediaError::Busy)) }
    }

    /// A viewer's receive-only offer for the broadcast of `peer` in `room`
    /// (the newest one there when `None`).
    pub fn watch(
        &self,
        room: Room,
        peer: Option<Uuid>,
        owner: Owner,
        offer: String,
        meeting: bool,
    ) -> impl std::future::Future<Output = Result<Answer, MediaError>> + Send + 'static {
        let reply = self.ask(move |reply| Command::Watch {
            room,
            peer,
            owner,
            offer,
            meeting,
            reply,
        });
        async move { reply.await.unwrap_or(Err(MediaError::Busy)) }
    }

    /// Ends a session named by its resource URL; false when the room has no
    /// such session.
    pub async fn end(&self, room: Room, session: Uuid) -> bool {
        self.ask(move |reply| Command::End {
            room,
            session,
            reply: Some(reply),
        })
        .await
        .unwrap_or(false)
    }

    /// The ids of the room's broadcasts, newest first.
    pub async fn broadcasts(&self, room: Room) -> Vec<Uuid> {
        self.ask(move |reply| Command::Broadcasts { room, reply })
            .await
            .unwrap_or_default()
    }

    /// Fire-and-forget commands, usable where nothing can wait (a `Drop`).
    /// If the queue is full the sessions still end by themselves: their
    /// peers stop sending and the silence deadline removes them.
    fn tell(&self, command: Command) {
        if self.commands.try_send(command).is_err() {
            tracing::debug!("media command queue full; the session will time out instead");
        }
    }

    pub fn unpublish(&self, key: BroadcastKey) {
        self.tell(Command::Unpublish { key });
    }

    pub fn stop_watching(&self, key: BroadcastKey, viewer: Uuid) {
        self.tell(Command::StopWatching { key, viewer });
    }

    pub fn peer_left(&self, room: Room, peer: Uuid) {
        self.tell(Command::PeerLeft { room, peer });
    }

    pub fn left_meeting(&self, room: Room, peer: Uuid) {
        self.tell(Command::LeftMeeting { room, peer });
    }

    pub fn tile_sizes(&self, room: Room, viewer: Uuid, sizes: Vec<(Uuid, u32)>) {
        self.tell(Command::TileSizes {
            room,
            viewer,
            sizes,
        });
    }

    pub fn end_session(&self, room: Room, session: Uuid) {
        self.tell(Command::End {
            room,
            session,
            reply: None,
        });
    }
}
