//! Pipes through the appliance: when two devices cannot reach each other
//! directly (Wi-Fi that isolates its clients), a file transfer goes over two
//! WebSockets, one from each device to `/pipe/<token>`, and the server copies
//! frames from one to the other. Nothing is stored: one frame at a time is in
//! flight per direction, so a slow reader slows the sender down through TCP
//! instead of filling the server's memory.
//!
//! A pipe is asked for over signaling (`pipe`, see `docs/protocol.md`); the
//! hub checks that both devices are identified peers of the same room, then
//! [`Pipes::issue`] makes an unguessable token (256 random bits) that only those two are told.
//! The first device to connect waits (at most [`PAIRING_TIME`]) for the
//! second; a third, or a token that expired, is refused.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::upgrade::Upgraded;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tracing::debug;
use uuid::Uuid;

use crate::respond::{text_response, Body};

/// Where pipes are opened: `/pipe/<token>`.
pub const PREFIX: &str = "/pipe/";
/// How long a token waits for both ends to connect.
pub const PAIRING_TIME: Duration = Duration::from_secs(30);
/// Pipes open or waiting at once, over the whole server.
pub const MAX_PIPES: usize = 256;
/// Pipes one signaling connection may have asked for, waiting or running.
pub const MAX_PER_PEER: usize = 8;
/// The largest frame carried (a transfer's pieces are at most 256 KiB).
pub const MAX_FRAME: usize = 1024 * 1024;
/// The server pings both ends this often, and ends a pipe from which nothing
/// (not even a pong) came for [`IDLE`].
pub const PING_EVERY: Duration = Duration::from_secs(20);
pub const IDLE: Duration = Duration::from_secs(45);

type Ws = WebSocketStream<TokioIo<Upgraded>>;

/// The pipes being set up and running.
#[derive(Clone, Default)]
pub struct Pipes(Arc<Mutex<State>>, Arc<Carried>);

/// What the pipes carried since the server started, for `/metrics`.
#[derive(Default)]
pub struct Carried {
    /// Pipes whose two ends connected.
    pub pipes: AtomicU64,
    /// Bytes of text and binary frames copied, both directions.
    pub bytes: AtomicU64,
}

#[derive(Default)]
struct State {
    slots: HashMap<String, Slot>,
    /// Pipes running (both ends connected), per connection that asked.
    running: HashMap<Uuid, usize>,
}

impl State {
    fn running(&self) -> usize {
        self.running.values().sum()
    }
}

/// Counts a running pipe against the connection that asked for it, until dropped.
struct Running(Pipes, Uuid);

impl Running {
    fn new(pipes: &Pipes, requester: Uuid) -> Running {
        *pipes.lock().running.entry(requester).or_default() += 1;
        Running(pipes.clone(), requester)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        if let Some(n) = state.running.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                state.running.remove(&self.1);
            }
        }
    }
}

struct Slot {
    /// The signaling connection that asked for it.
    requester: Uuid,
    expires: Instant,
    /// The first end, once it connected, waiting for the second.
    waiting: Option<oneshot::Sender<Ws>>,
}

/// Why a pipe was not issued.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// This connection has too many pipes, waiting for their ends or running.
    TooMany,
    /// The server runs as many pipes as it allows.
    Full,
}

impl Refused {
    pub fn message(&self) -> &'static str {
        match self {
            Refused::TooMany => {
                "Too many pipes for one device; finish, or let expire, the ones you have."
            }
            Refused::Full => {
                "The appliance carries as many transfers as it allows; try again later."
            }
        }
    }
}

impl Pipes {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new token for a pipe asked for by `requester`.
    pub fn issue(&self, requester: Uuid) -> Result<String, Refused> {
        let mut state = self.lock();
        let now = Instant::now();
        state
            .slots
            .retain(|_, s| s.expires > now || s.waiting.is_some());
        if state.slots.len() + state.running() >= MAX_PIPES {
            return Err(Refused::Full);
        }
        let mine = state
            .slots
            .values()
            .filter(|s| s.requester == requester)
            .count()
            + state.running.get(&requester).copied().unwrap_or(0);
        if mine >= MAX_PER_PEER {
            return Err(Refused::TooMany);
        }
        let token = random_token();
        state.slots.insert(
            token.clone(),
            Slot {
                requester,
                expires: now + PAIRING_TIME,
                waiting: None,
            },
        );
        Ok(token)
    }

    /// Forgets a token that was issued but will not be used.
    pub fn revoke(&self, token: &str) {
        self.lock().slots.remove(token);
    }

    /// Whether `token` can still be connected to.
    fn is_open(&self, token: &str) -> bool {
        self.lock()
            .slots
            .get(token)
            .is_some_and(|s| s.expires > Instant::now())
    }

    /// Totals since the server started.
    pub fn carried(&self) -> &Carried {
        &self.1
    }

    /// (pipes waiting for an end, pipes running), for tests and metrics.
    pub fn counts(&self) -> (usize, usize) {
        let state = self.lock();
        let now = Instant::now();
        // An expired slot nobody connected to is only pruned on the next issue.
        let waiting = state
            .slots
            .values()
            .filter(|s| s.expires > now || s.waiting.is_some())
            .count();
        (waiting, state.running())
    }

    /// One end connected: the first waits for the second, the second starts
    /// the pipe.
    async fn join(&self, token: String, ws: Ws) {
        enum Next {
            Wait(oneshot::Receiver<Ws>, Instant, Uuid),
            Pair(oneshot::Sender<Ws>),
            Gone,
        }
        let next = {
            let mut state = self.lock();
            match state.slots.get_mut(&token) {
                Some(slot) if slot.expires <= Instant::now() => Next::Gone,
                Some(slot) => match slot.waiting.take() {
                    None => {
                        let (tx, rx) = oneshot::channel();
                        slot.waiting = Some(tx);
                        Next::Wait(rx, slot.expires, slot.requester)
                    }
                    Some(tx) => {
                        state.slots.remove(&token);
                        Next::Pair(tx)
                    }
                },
                None => Next::Gone,
            }
        };
        match next {
            Next::Gone => refuse(ws, "This pipe is unknown, expired or already connected.").await,
            Next::Pair(tx) => {
                // The first end may have given up at this very moment.
                if let Err(ws) = tx.send(ws) {
                    refuse(ws, "The other end of this pipe left before it connected.").await;
                }
            }
            Next::Wait(rx, expires, requester) => {
                let partner = tokio::time::timeout_at(expires.into(), rx).await;
                let partner = match partner {
                    Ok(Ok(partner)) => Some(partner),
                    _ => None,
                };
                let Some(partner) = partner else {
                    self.lock().slots.remove(&token);
                    refuse(ws, "The other device did not connect to this pipe in time.").await;
                    return;
                };
                let _running = Running::new(self, requester);
                self.1.pipes.fetch_add(1, Ordering::Relaxed);
                carry(ws, partner, &self.1.bytes).await;
            }
        }
    }
}

/// 256 random bits as hex: a pipe's token.
fn random_token() -> String {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system's random source works");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The WebSocket settings of a pipe's ends.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME))
        .max_frame_size(Some(MAX_FRAME))
        .read_buffer_size(64 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_FRAME * 2)
}

/// Answers `GET /pipe/<token>`: 101 and a task that joins the pipe, or a
/// response that says what was wrong. The access key, when there is one,
/// was checked before.
pub fn upgrade(mut req: Request<Incoming>, pipes: &Pipes, token: &str) -> Response<Body> {
    if !crate::rtc::is_upgrade(req.headers()) {
        return text_response(
            StatusCode::BAD_REQUEST,
            "This is a transfer pipe; only the app connects to it, with a WebSocket.\n",
        );
    }
    let accept = match crate::rtc::accept_key(req.headers()) {
        Ok(accept) => accept,
        Err(res) => return *res,
    };
    if !pipes.is_open(token) {
        return text_response(
            StatusCode::NOT_FOUND,
            "This pipe is unknown, expired or already connected; the app asks for a new one over /rtc.\n",
        );
    }
    let on_upgrade = hyper::upgrade::on(&mut req);
    let (pipes, token) = (pipes.clone(), token.to_string());
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let ws = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(ws_config()),
                )
                .await;
                pipes.join(token, ws).await;
            }
            Err(err) => debug!(%err, "pipe upgrade failed"),
        }
    });
    crate::rtc::switching_protocols(&accept, None)
}

async fn refuse(mut ws: Ws, why: &'static str) {
    let _ = ws
        .close(Some(CloseFrame {
            code: CloseCode::Policy,
            reason: why.into(),
        }))
        .await;
}

type Sink = Arc<tokio::sync::Mutex<SplitSink<Ws, Message>>>;

/// Copies frames both ways until either end closes, fails or falls silent.
async fn carry(a: Ws, b: Ws, bytes: &AtomicU64) {
    let (a_sink, a_stream) = a.split();
    let (b_sink, b_stream) = b.split();
    let a_sink: Sink = Arc::new(tokio::sync::Mutex::new(a_sink));
    let b_sink: Sink = Arc::new(tokio::sync::Mutex::new(b_sink));
    let why = tokio::select! {
        why = copy(a_stream, b_sink.clone(), bytes) => why,
        why = copy(b_stream, a_sink.clone(), bytes) => why,
        why = keepalive([a_sink.clone(), b_sink.clone()]) => why,
    };
    debug!(?why, "pipe ended");
    // Tell both ends (one of them may be gone already).
    for sink in [a_sink, b_sink] {
        let mut sink = sink.lock().await;
        let frame = CloseFrame {
            code: why.0,
            reason: why.1.into(),
        };
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            sink.send(Message::Close(Some(frame))),
        )
        .await;
    }
}

/// One direction: each frame read from `from` is written to `to` before the
/// next is read.
async fn copy(mut from: SplitStream<Ws>, to: Sink, bytes: &AtomicU64) -> (CloseCode, &'static str) {
    loop {
        let next = tokio::time::timeout(IDLE, from.next()).await;
        let message = match next {
            Err(_) => return (CloseCode::Away, "nothing came from the other end for 45 s"),
            Ok(None) | Ok(Some(Err(_))) => return (CloseCode::Away, "the other end left"),
            Ok(Some(Ok(message))) => message,
        };
        match message {
            Message::Text(_) | Message::Binary(_) => {
                // Counted before it is handed on, so an end that has it
                // never sees a total without it.
                bytes.fetch_add(message.len() as u64, Ordering::Relaxed);
                if to.lock().await.send(message).await.is_err() {
                    return (CloseCode::Away, "the other end left");
                }
            }
            Message::Close(_) => return (CloseCode::Normal, "the other end closed the pipe"),
            // Pongs to our pings and pings of the ends' own are answered by
            // tungstenite; they only show the end is alive.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
    }
}

/// Pings both ends on schedule, so a silent but healthy transfer (a person
/// deciding whether to accept) is not taken for a dead one.
async fn keepalive(sinks: [Sink; 2]) -> (CloseCode, &'static str) {
    let mut tick = tokio::time::interval(PING_EVERY);
    tick.tick().await;
    loop {
        tick.tick().await;
        for sink in &sinks {
            if sink
                .lock()
                .await
                .send(Message::Ping(Default::default()))
                .await
                .is_err()
            {
                return (CloseCode::Away, "the other end left");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_limited_per_requester_and_in_all() {
        let pipes = Pipes::default();
        let me = Uuid::new_v4();
        let tokens: Vec<String> = (0..MAX_PER_PEER)
            .map(|_| pipes.issue(me).unwrap())
            .collect();
        assert_eq!(pipes.issue(me), Err(Refused::TooMany));
        // Someone else still gets one; a revoked token frees a place.
        assert!(pipes.issue(Uuid::new_v4()).is_ok());
        pipes.revoke(&tokens[0]);
        assert!(pipes.issue(me).is_ok());
        let mut all = tokens.len() + 1;
        while all < MAX_PIPES {
            pipes.issue(Uuid::new_v4()).unwrap();
            all += 1;
        }
        assert_eq!(pipes.issue(Uuid::new_v4()), Err(Refused::Full));
    }

    #[test]
    fn running_pipes_count_against_the_device_that_asked() {
        let pipes = Pipes::default();
        let me = Uuid::new_v4();
        let running: Vec<Running> = (0..MAX_PER_PEER)
            .map(|_| Running::new(&pipes, me))
            .collect();
        assert_eq!(pipes.counts(), (0, MAX_PER_PEER));
        assert_eq!(pipes.issue(me), Err(Refused::TooMany));
        drop(running);
        assert_eq!(pipes.counts(), (0, 0));
        assert!(pipes.issue(me).is_ok());
    }

    #[test]
    fn tokens_are_long_random_and_open_until_used() {
        let pipes = Pipes::default();
        let a = pipes.issue(Uuid::new_v4()).unwrap();
        let b = pipes.issue(Uuid::new_v4()).unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(pipes.is_open(&a));
        assert!(!pipes.is_open("0123"));
        pipes.revoke(&a);
        assert!(!pipes.is_open(&a));
    }
}
