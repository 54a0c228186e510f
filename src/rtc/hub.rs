//! The hub owns the registry of signaling connections: who is connected, who
//! has identified under which name, and each connection's outbound queue.
//!
//! State lives behind a `std::sync::Mutex` that is only held for short,
//! await-free sections (a map lookup, or a loop of `try_send`s that never
//! block). That is simpler than an actor and avoids a channel round trip per
//! relayed message; it is safe because nothing inside the lock can wait.
//!
//! Every broadcast is serialized once and the resulting `Utf8Bytes` is shared
//! among the recipients (cloning it is a reference-count increment).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use uuid::Uuid;

use super::outbox::{self, Inbox, Outbound, Outbox};
use super::protocol::{self, ErrorCode, ProtocolError, ReadyTemplate};
use crate::config::Limits;

/// Why the server closes a socket: a WebSocket close code and a short reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseReason {
    pub code: u16,
    pub reason: &'static str,
}

impl CloseReason {
    pub const GOING_AWAY: CloseReason = CloseReason {
        code: 1001,
        reason: "server shutting down",
    };
    pub const TOO_SLOW: CloseReason = CloseReason {
        code: 1008,
        reason: "not reading messages fast enough",
    };
}

struct Entry {
    outbox: Outbox,
    close: watch::Sender<Option<CloseReason>>,
    /// Set by the first identify.
    name: Option<String>,
    /// This peer's serialized announcement, reused for every newcomer.
    announce: Option<Utf8Bytes>,
}

impl Entry {
    /// Queues without waiting; a full queue means the client is not reading,
    /// so it is told to close instead of growing our memory.
    fn push(&self, item: Outbound) {
        if !self.outbox.push(item) {
            self.close.send_replace(Some(CloseReason::TOO_SLOW));
        }
    }
}

struct State {
    peers: HashMap<Uuid, Entry>,
    closing: bool,
}

struct Inner {
    state: Mutex<State>,
    /// Number of live socket tasks; shutdown waits for it to reach 0, so every
    /// close frame has been sent (or timed out) before the process exits.
    tasks: watch::Sender<usize>,
    max_peers: usize,
    queue_frames: usize,
    queue_bytes: usize,
    /// `ready` for new connections, rebuilt when the app's files change.
    ready: Mutex<ReadyTemplate>,
    ice_servers: Value,
}

/// A cheap handle to the hub.
#[derive(Clone)]
pub struct Hub(Arc<Inner>);

/// A registered connection. Dropping it unregisters the connection and
/// announces its removal, so no peer outlives its socket — whatever way the
/// socket task ends.
pub struct Membership {
    pub id: Uuid,
    pub id_str: String,
    pub outbox: Outbox,
    pub close: watch::Receiver<Option<CloseReason>>,
    /// Set by the first successful identify.
    identified: AtomicBool,
    hub: Hub,
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.hub.remove(self.id);
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

    pub fn new(limits: &Limits, version: String, ice_servers: Value) -> Hub {
        Hub(Arc::new(Inner {
            state: Mutex::new(State {
                peers: HashMap::new(),
                closing: false,
            }),
            tasks: watch::Sender::new(0),
            max_peers: limits.max_peers,
            queue_frames: limits.outbound_queue,
            queue_bytes: limits.outbound_bytes,
            ready: Mutex::new(ReadyTemplate::new(&version, &ice_servers, None)),
            ice_servers,
        }))
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
        *self.0.ready.lock().unwrap_or_else(|p| p.into_inner()) =
            ReadyTemplate::new(version, &self.0.ice_servers, None);
        let live = ReadyTemplate::new(version, &self.0.ice_servers, Some(changed));
        let state = self.lock();
        for (id, entry) in state.peers.iter() {
            let frame = live.for_id(&id.hyphenated().to_string());
            entry.push(Outbound::Text(frame.into()));
        }
    }

    /// Registers a new connection and queues its `ready` message, or returns
    /// `None` when `MAX_PEERS` connections are held or the server is closing.
    /// The receiver is the connection's outbound queue, for its writer.
    pub fn register(&self) -> Option<(Membership, Inbox)> {
        let id = Uuid::new_v4();
        let id_str = id.hyphenated().to_string();
        let (outbox, inbox) = outbox::outbox(self.0.queue_frames, self.0.queue_bytes);
        let (close_tx, close_rx) = watch::channel(None);
        {
            let mut state = self.lock();
            if state.closing || state.peers.len() >= self.0.max_peers {
                return None;
            }
            // Queued under the lock, so a new version announced meanwhile
            // cannot reach this connection before its first `ready`.
            let ready = self
                .0
                .ready
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .for_id(&id_str);
            outbox.push(Outbound::Text(ready.into()));
            state.peers.insert(
                id,
                Entry {
                    outbox: outbox.clone(),
                    close: close_tx,
                    name: None,
                    announce: None,
                },
            );
        }
        Some((
            Membership {
                id,
                id_str,
                outbox,
                close: close_rx,
                identified: AtomicBool::new(false),
                hub: self.clone(),
            },
            inbox,
        ))
    }

    /// Handles `identify`: the first one lists the newcomer and tells it about
    /// everyone else; later ones are renames.
    pub fn identify(
        &self,
        me: &Membership,
        claimed_id: &str,
        name: String,
    ) -> Result<(), ProtocolError> {
        if claimed_id != me.id_str {
            return Err(ProtocolError::new(
                ErrorCode::BadId,
                "data.id must be the id this connection received in its ready message.",
                Some("identify"),
            ));
        }
        let announce: Utf8Bytes = protocol::peer(&me.id_str, &name).into();
        let mut state = self.lock();
        let Some(entry) = state.peers.get_mut(&me.id) else {
            return Ok(());
        };
        let first = entry.name.is_none();
        if entry.name.as_deref() == Some(name.as_str()) {
            return Ok(()); // same name again: nothing for anyone to learn
        }
        entry.name = Some(name);
        entry.announce = Some(announce.clone());
        me.identified.store(true, Ordering::Relaxed);
        if first {
            let others: Vec<Utf8Bytes> = state
                .peers
                .iter()
                .filter(|(id, _)| **id != me.id)
                .filter_map(|(_, e)| e.announce.clone())
                .collect();
            if !others.is_empty() {
                if let Some(entry) = state.peers.get(&me.id) {
                    entry.push(Outbound::Batch(others));
                }
            }
        }
        for (id, entry) in state.peers.iter() {
            if *id != me.id && entry.name.is_some() {
                entry.push(Outbound::Text(announce.clone()));
            }
        }
        Ok(())
    }

    /// Delivers a message to one identified peer other than the sender, who
    /// must have identified too. `stamp` builds the frame with the sender's id,
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
        match state.peers.get(&target) {
            Some(entry) if entry.name.is_some() => {
                entry.push(Outbound::Text(frame.into()));
                Ok(())
            }
            _ => Err(unknown()),
        }
    }

    fn remove(&self, id: Uuid) {
        let mut state = self.lock();
        let Some(gone) = state.peers.remove(&id) else {
            return;
        };
        if let Some(name) = gone.name {
            let frame: Utf8Bytes =
                protocol::peer_removed(&id.hyphenated().to_string(), &name).into();
            for entry in state.peers.values().filter(|e| e.name.is_some()) {
                entry.push(Outbound::Text(frame.clone()));
            }
        }
    }

    /// Refuses new connections and asks every socket to close with 1001.
    /// Returns once all have closed or `deadline` has passed.
    pub async fn shutdown(&self, deadline: std::time::Duration) {
        {
            let mut state = self.lock();
            state.closing = true;
            for entry in state.peers.values() {
                entry.close.send_replace(Some(CloseReason::GOING_AWAY));
            }
        }
        let mut tasks = self.0.tasks.subscribe();
        let _ = tokio::time::timeout(deadline, tasks.wait_for(|n| *n == 0)).await;
    }
}
