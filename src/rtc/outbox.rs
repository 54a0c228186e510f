//! A connection's outbound queue, bounded in frames *and* in bytes: a client
//! that stops reading must not make the server hold more than a little memory
//! for it, however large the messages sent its way.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Something for a connection's writer.
#[derive(Debug)]
pub enum Outbound {
    Text(Utf8Bytes),
    /// Several frames queued as one item (the list of peers a newcomer gets),
    /// so a large room does not overflow the newcomer's queue.
    Batch(Vec<Utf8Bytes>),
}

impl Outbound {
    fn bytes(&self) -> usize {
        match self {
            Outbound::Text(t) => t.len(),
            Outbound::Batch(frames) => frames.iter().map(|f| f.len()).sum(),
        }
    }
}

/// The sending side, cloned into the hub and the connection's own reader.
#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::Sender<Outbound>,
    queued: Arc<AtomicUsize>,
    max_bytes: usize,
}

/// The writer's side.
pub struct Inbox {
    rx: mpsc::Receiver<Outbound>,
    queued: Arc<AtomicUsize>,
}

/// A queue of at most `frames` items and about `max_bytes` bytes.
pub fn outbox(frames: usize, max_bytes: usize) -> (Outbox, Inbox) {
    let (tx, rx) = mpsc::channel(frames.max(1));
    let queued = Arc::new(AtomicUsize::new(0));
    (
        Outbox {
            tx,
            queued: queued.clone(),
            max_bytes,
        },
        Inbox { rx, queued },
    )
}

impl Outbox {
    /// Queues without waiting. `false` means the queue is full: the client is
    /// not keeping up. One item larger than the byte budget is still taken
    /// when the queue is empty, so a newcomer to a huge room gets its list.
    pub fn push(&self, item: Outbound) -> bool {
        let size = item.bytes();
        let before = self.queued.fetch_add(size, Ordering::AcqRel);
        if before > 0 && before + size > self.max_bytes {
            self.queued.fetch_sub(size, Ordering::AcqRel);
            return false;
        }
        match self.tx.try_send(item) {
            Ok(()) => true,
            Err(err) => {
                self.queued.fetch_sub(size, Ordering::AcqRel);
                // A closed queue belongs to a connection already leaving.
                matches!(err, mpsc::error::TrySendError::Closed(_))
            }
        }
    }
}

impl Inbox {
    pub async fn recv(&mut self) -> Option<Outbound> {
        let item = self.rx.recv().await?;
        self.queued.fetch_sub(item.bytes(), Ordering::AcqRel);
        Some(item)
    }

    pub fn try_recv(&mut self) -> Option<Outbound> {
        let item = self.rx.try_recv().ok()?;
        self.queued.fetch_sub(item.bytes(), Ordering::AcqRel);
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(n: usize) -> Outbound {
        Outbound::Text("x".repeat(n).into())
    }

    #[tokio::test]
    async fn bounded_by_frames_and_bytes() {
        let (out, mut inbox) = outbox(3, 100);
        assert!(out.push(text(10)) && out.push(text(10)) && out.push(text(10)));
        assert!(!out.push(text(1)), "a fourth frame must not fit");
        inbox.recv().await.unwrap();
        assert!(out.push(text(10)));

        let (out, mut inbox) = outbox(100, 100);
        assert!(out.push(text(60)));
        assert!(!out.push(text(60)), "120 bytes must not fit in 100");
        assert!(out.push(text(40)));
        inbox.recv().await.unwrap();
        inbox.try_recv().unwrap();
        assert!(
            out.push(Outbound::Batch(vec!["y".repeat(500).into()])),
            "an empty queue takes one big item"
        );
    }
}
