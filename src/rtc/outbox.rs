//! A connection's outbound queue, bounded in frames *and* in bytes: a client
//! that stops reading must not make the server hold more than a little memory
//! for it, however large the messages sent its way.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::frame::Frame;

/// Something for a connection's writer.
#[derive(Debug)]
pub enum Outbound {
    /// One frame, or several in one buffer (see `Frame::concat`).
    Frame(Frame),
    /// News of who is in the room (a join, a rename, a departure): the
    /// writer may hold it back a few milliseconds so that more of its kind
    /// leave in the same write (see `socket::PRESENCE_DELAY`). Anything else
    /// queued behind it ends the wait.
    Presence(Frame),
}

impl Outbound {
    /// Bytes on the wire.
    pub fn bytes(&self) -> usize {
        self.frame().len()
    }

    /// What goes on the wire.
    pub fn frame(&self) -> &Frame {
        match self {
            Outbound::Frame(f) | Outbound::Presence(f) => f,
        }
    }

    /// Whether the writer may hold this back to send it with others.
    pub fn may_wait(&self) -> bool {
        matches!(self, Outbound::Presence(_))
    }
}

/// A drained queue keeps at most this many slots; a bigger buffer, grown by
/// a burst (a join storm), is given back so ten thousand idle connections do
/// not each keep their high-water mark.
const IDLE_SLOTS: usize = 4;

struct Queue {
    items: VecDeque<Outbound>,
    bytes: usize,
    /// Every sender is gone: the writer sees the end once the queue drains.
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the writer; a wake-up sent while it is busy is kept for later.
    ready: Notify,
    senders: AtomicUsize,
    max_frames: usize,
    max_bytes: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Nothing panics while holding it; if something did, the queue is
        // still a valid queue.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The sending side, cloned into the hub and the connection's own reader.
pub struct Outbox(Arc<Shared>);

/// The writer's side.
pub struct Inbox(Arc<Shared>);

/// A queue of at most `frames` items and about `max_bytes` bytes.
///
/// It is a mutex-guarded deque rather than a channel because a channel keeps
/// the blocks it grew into for good, and at 10,000 idle connections that was
/// 4 KiB each; this one holds nothing but its header while empty.
pub fn outbox(frames: usize, max_bytes: usize) -> (Outbox, Inbox) {
    let shared = Arc::new(Shared {
        queue: Mutex::new(Queue {
            items: VecDeque::new(),
            bytes: 0,
            closed: false,
        }),
        ready: Notify::new(),
        senders: AtomicUsize::new(1),
        max_frames: frames.max(1),
        max_bytes,
    });
    (Outbox(shared.clone()), Inbox(shared))
}

impl Clone for Outbox {
    fn clone(&self) -> Self {
        self.0.senders.fetch_add(1, Ordering::Relaxed);
        Outbox(self.0.clone())
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        if self.0.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.lock().closed = true;
            self.0.ready.notify_one();
        }
    }
}

impl Outbox {
    /// Queues without waiting. `false` means the queue is full: the client is
    /// not keeping up. One item larger than the byte budget is still taken
    /// when the queue is empty, so a newcomer to a huge room gets its list.
    pub fn push(&self, item: Outbound) -> bool {
        self.0.push(item)
    }
}

impl Shared {
    fn push(&self, item: Outbound) -> bool {
        let size = item.bytes();
        let was_empty = {
            let mut q = self.lock();
            if q.items.len() >= self.max_frames || (q.bytes > 0 && q.bytes + size > self.max_bytes)
            {
                return false;
            }
            q.bytes += size;
            q.items.push_back(item);
            q.items.len() == 1
        };
        // The writer waits only after finding the queue empty, and drains it
        // before waiting again, so only the push that ends the emptiness
        // needs to wake it. In a join storm that saves a wake-up (an atomic
        // and often a task switch) for almost every frame.
        if was_empty {
            self.ready.notify_one();
        }
        true
    }
}

/// A way into the queue that does not keep it open: the connection's own
/// WebSocket reader queues its protocol replies (pongs, the close reply)
/// here, and the writer must still see the end once every real sender is
/// gone.
pub struct Replies(Arc<Shared>);

impl Replies {
    /// Queues like [`Outbox::push`]; `false` when the queue is full.
    pub fn push(&self, item: Outbound) -> bool {
        self.0.push(item)
    }
}

impl Inbox {
    /// The next item; `None` once every sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<Outbound> {
        loop {
            {
                let mut q = self.0.lock();
                if let Some(item) = pop(&mut q) {
                    return Some(item);
                }
                if q.closed {
                    return None;
                }
            }
            // A push between the unlock and here leaves a stored wake-up, so
            // this returns at once rather than missing it.
            self.0.ready.notified().await;
        }
    }

    pub fn try_recv(&mut self) -> Option<Outbound> {
        pop(&mut self.0.lock())
    }

    /// See [`Replies`].
    pub fn replies(&self) -> Replies {
        Replies(self.0.clone())
    }
}

fn pop(q: &mut Queue) -> Option<Outbound> {
    let item = q.items.pop_front()?;
    q.bytes -= item.bytes();
    if q.items.is_empty() && q.items.capacity() > IDLE_SLOTS {
        q.items = VecDeque::new();
    }
    Some(item)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(n: usize) -> Outbound {
        Outbound::Frame("x".repeat(n).as_str().into())
    }

    #[tokio::test]
    async fn bounded_by_frames_and_bytes() {
        let (out, mut inbox) = outbox(3, 100);
        assert!(out.push(text(10)) && out.push(text(10)) && out.push(text(10)));
        assert!(!out.push(text(1)), "a fourth frame must not fit");
        inbox.recv().await.unwrap();
        assert!(out.push(text(10)));

        let (out, mut inbox) = outbox(100, 100);
        // A frame counts its two-byte header too.
        assert!(out.push(text(60)));
        assert!(!out.push(text(60)), "124 bytes must not fit in 100");
        assert!(out.push(text(36)), "62 + 38 bytes fit in 100");
        inbox.recv().await.unwrap();
        inbox.try_recv().unwrap();
        assert!(
            out.push(Outbound::Frame("y".repeat(500).as_str().into())),
            "an empty queue takes one big item"
        );
    }

    #[tokio::test]
    async fn drained_queue_gives_its_memory_back() {
        let (out, mut inbox) = outbox(4096, 1 << 20);
        for _ in 0..1000 {
            assert!(out.push(text(1)));
        }
        while inbox.try_recv().is_some() {}
        assert!(inbox.0.lock().items.capacity() <= IDLE_SLOTS);
    }

    #[tokio::test]
    async fn the_writer_sees_the_end_after_the_last_item() {
        let (out, mut inbox) = outbox(8, 100);
        let second = out.clone();
        assert!(out.push(text(3)));
        drop(out);
        // A sender is left: the writer must wait, not end.
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), async {
            inbox.recv().await;
            inbox.recv().await
        })
        .await;
        assert!(waiting.is_err(), "ended while a sender was alive");
        drop(second);
        assert!(inbox.recv().await.is_none());
    }

    #[tokio::test]
    async fn a_push_wakes_a_waiting_writer() {
        let (out, mut inbox) = outbox(8, 100);
        let writer = tokio::spawn(async move { inbox.recv().await.map(|i| i.bytes()) });
        tokio::task::yield_now().await;
        assert!(out.push(text(7)));
        let got = tokio::time::timeout(std::time::Duration::from_secs(1), writer).await;
        assert_eq!(got.unwrap().unwrap(), Some(2 + 7));
    }
}
