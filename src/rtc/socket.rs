//! One signaling connection: a reader that parses, rate-limits and dispatches
//! what the client sends, and a writer that drains the connection's bounded
//! queue, coalescing queued frames into one flush, and pings.
//!
//! The connection ends when either side ends, when the hub asks it to close
//! (shutdown, or a client too slow to read), or when nothing has arrived for
//! the idle timeout. Dropping the [`Membership`] then unregisters it.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf, ReadHalf};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;
use tracing::debug;

use super::appliance;
use super::frame::Frame;
use super::hub::{CloseReason, Hub, Membership};
use super::outbox::{Inbox, Outbound, Replies};
use super::protocol::{self, ErrorCode, Inbound, ProtocolError};
use super::ratelimit::{RateLimiter, Verdict};
use crate::config::Limits;

/// Largest message accepted. An SDP with many codecs and candidates is under
/// 16 KiB; 64 KiB leaves room and keeps a hostile client from making the
/// server buffer megabytes.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// How long a close frame may take to leave before the socket is just dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Most queued items gathered for one write. With the byte budget below it
/// bounds how long one connection's writer runs before others get a turn.
const MAX_COALESCE: usize = 1024;
/// Bytes gathered for one write: rustls takes up to 64 KiB of plaintext per
/// call (its default buffer limit) and turns it into four full 16 KiB
/// records that leave in one `writev`. In a join storm that is ~700 frames
/// per system call instead of the ~40 that a 4 KiB buffer allowed.
const WRITE_BUDGET: usize = 64 * 1024;
/// Slices handed to one vectored write; the rest wait for the next call.
const MAX_SLICES: usize = 1024;
/// How long a writer holding only presence news waits for more of it. In
/// a join storm each connection then writes a few times a second instead of
/// after every join: measured on join 1000, 84 frames per write instead of
/// 26 and 30 % less server CPU (50 ms; 100 ms saved only 7 % more). A person
/// cannot see a peer appear 50 ms later; a relay or an error never waits.
pub const PRESENCE_DELAY: Duration = Duration::from_millis(50);

const TOO_BIG: CloseReason = CloseReason {
    label: "too-big",
    code: 1009,
    reason: "message over 64 KiB",
};
const BINARY: CloseReason = CloseReason {
    label: "binary",
    code: 1003,
    reason: "binary frames are not supported; send JSON text",
};
const FLOODING: CloseReason = CloseReason {
    label: "flooding",
    code: 1008,
    reason: "too many messages",
};
const IDLE: CloseReason = CloseReason {
    label: "idle",
    code: 1001,
    reason: "no pong or message within the keepalive timeout",
};

/// WebSocket settings sized for small signaling messages: thousands of idle
/// sockets must not each hold the library's default 128 KiB buffers.
///
/// tungstenite only reads here (see [`serve`]); what it writes is its own
/// protocol replies, a pong or a close, which go out at once (a write
/// buffer size of 0). Its read buffer is filled (and zeroed) to its full
/// size on every connection, and reads come from rustls's decrypted
/// plaintext, not from the kernel, so small chunks cost only function
/// calls: 512 bytes.
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES))
        .read_buffer_size(512)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_MESSAGE_BYTES)
}

/// The stream tungstenite is given: the connection's read half, and, as its
/// write side, the connection's queue. tungstenite frames and parses what
/// the client sends and answers pings and closes itself; its answers land in
/// the queue like any other frame, so they never interleave with a frame
/// the writer is halfway through.
struct ReadSide<S> {
    read: ReadHalf<S>,
    replies: Replies,
}

impl<S: AsyncRead> AsyncRead for ReadSide<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl<S> AsyncWrite for ReadSide<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        // tungstenite hands over whole frames (its buffer holds complete
        // frames and is taken in full). A pong that does not fit a full
        // queue is dropped: that client is about to be cut off as too slow.
        self.replies
            .push(Outbound::Frame(Frame::raw(Bytes::copy_from_slice(buf))));
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// How the reader ended.
enum Ending {
    /// The server closes, for this reason.
    Close(CloseReason),
    /// The client sent a close frame; the reply echoes its code.
    ClientClosed(Option<u16>),
    /// The connection is gone or broken: nothing more to say.
    Gone,
}

/// Runs a connection to its end, from the first byte after the upgrade.
///
/// The connection is split: tungstenite reads and parses (and answers the
/// client's pings and close), while writing is ours, so that a broadcast's
/// frame, built once (see `frame`), goes from the hub to rustls without being
/// framed and copied again per recipient.
pub async fn serve<S>(io: S, me: Membership, mut rx: Inbox, hub: Hub, limits: Limits)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (read, mut write) = tokio::io::split(io);
    let replies = rx.replies();
    let mut stream = WebSocketStream::from_raw_socket(
        ReadSide { read, replies },
        Role::Server,
        Some(ws_config()),
    )
    .await;
    let mut close_rx = me.close.clone();
    // Taken from the queue, not yet written (see `write_batch`).
    let mut gathered = Vec::new();
    let ending = {
        let reader = read_loop(&mut stream, &me, &hub, &limits);
        let writer = write_loop(&mut write, &mut rx, &mut gathered, limits.ping_interval);
        tokio::select! {
            r = reader => r,
            () = writer => Ending::Gone,
            r = close_rx.wait_for(Option::is_some) => match r.ok().and_then(|reason| *reason) {
                Some(reason) => Ending::Close(reason),
                None => Ending::Gone,
            },
        }
    };
    let id = me.id;
    // Unregister (and announce the removal) before the close handshake, which
    // may wait on a slow client.
    drop(me);
    match ending {
        Ending::Close(reason) => {
            debug!(peer = %id, reason = reason.label, "signaling connection closing");
            hub.metrics().closed(reason.label);
            // A close the server starts must reach the client, after what was
            // already queued for it (a flooder's `rate-limited` errors say why
            // it is being closed). Then the client's own close is awaited,
            // reading and discarding what it still sends: a socket closed with
            // unread input makes the kernel answer with a reset, which destroys
            // everything still in flight to the client, close frame included.
            // Each step is bounded, so a client that reads nothing costs at most
            // a few seconds.
            let goodbye = async {
                // A few batches at most: a queue that keeps filling is not ours
                // to empty before saying goodbye.
                for _ in 0..4 {
                    if gathered.is_empty() {
                        let Some(item) = rx.try_recv() else { break };
                        gathered.push(item);
                    }
                    let batch = write_batch(&mut write, &mut rx, &mut gathered, Duration::ZERO);
                    if batch.await.is_err() {
                        return;
                    }
                }
                let close = Frame::close(reason.code, reason.reason);
                let _ = write_flushed(&mut write, &close).await;
            };
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, goodbye).await;
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
                while let Some(Ok(message)) = stream.next().await {
                    if message.is_close() {
                        break;
                    }
                }
            })
            .await;
        }
        Ending::ClientClosed(code) => {
            // The reply goes at once, ahead of whatever was still queued:
            // the client has said it is done reading.
            let reply = match code {
                Some(code) => Frame::close(code, ""),
                None => Frame::close_empty(),
            };
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, write_flushed(&mut write, &reply)).await;
        }
        Ending::Gone => {}
    }
    // TLS close_notify, then the end of our half of the TCP stream.
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, write.shutdown()).await;
    debug!(peer = %id, "signaling connection closed");
}

/// Reads until the client leaves or must be closed.
async fn read_loop<S>(
    stream: &mut WebSocketStream<ReadSide<S>>,
    me: &Membership,
    hub: &Hub,
    limits: &Limits,
) -> Ending
where
    S: AsyncRead,
{
    let mut limiter = RateLimiter::new(limits.rate_limit);
    let mut last_seen = Instant::now();
    loop {
        let next = tokio::time::timeout_at(last_seen + limits.idle_timeout, stream.next()).await;
        let message = match next {
            Err(_) => return Ending::Close(IDLE),
            Ok(None) => return Ending::Gone,
            Ok(Some(Err(WsError::Capacity(_)))) => return Ending::Close(TOO_BIG),
            Ok(Some(Err(err))) => {
                debug!(peer = %me.id, %err, "signaling read ended");
                return Ending::Gone;
            }
            Ok(Some(Ok(message))) => message,
        };
        last_seen = Instant::now();
        match message {
            Message::Text(text) => match limiter.check() {
                Verdict::Allow => {
                    if let Err(err) = dispatch(text.as_str(), me, hub) {
                        debug!(peer = %me.id, code = err.code.as_str(), "protocol error");
                        hub.metrics().error(err.code.as_str());
                        reply(me, &err);
                    }
                }
                Verdict::Limited => {
                    hub.metrics().rate_limited.inc();
                    reply(
                        me,
                        &ProtocolError::new(
                            ErrorCode::RateLimited,
                            "Too many messages; this one was dropped. Slow down or you will be disconnected.",
                            None,
                        ),
                    )
                }
                Verdict::Flooding => return Ending::Close(FLOODING),
            },
            Message::Binary(_) => return Ending::Close(BINARY),
            Message::Close(frame) => {
                return Ending::ClientClosed(frame.map(|f: CloseFrame| u16::from(f.code)))
            }
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
    }
}

fn dispatch(text: &str, me: &Membership, hub: &Hub) -> Result<(), ProtocolError> {
    match protocol::parse(text)? {
        Inbound::Identify {
            id,
            name,
            live,
            rejoin,
        } => hub.identify(me, &id, name, live, rejoin),
        Inbound::Publish { sdp, meeting, call } => {
            appliance::publish(me, hub, sdp, meeting, call.as_deref())
        }
        Inbound::CallRelay { target } => hub.call_relay(me, target.as_deref()),
        Inbound::Meeting(action) => hub.meeting(me, action),
        Inbound::Subscribe { target, sdp } => appliance::subscribe(me, hub, &target, sdp),
        Inbound::Unsubscribe { target } => appliance::unsubscribe(me, hub, &target),
        Inbound::Unpublish => appliance::unpublish(me, hub),
        Inbound::Ping => {
            me.outbox.push(Outbound::Frame(protocol::PONG.into()));
            Ok(())
        }
        Inbound::Pipe { target, transfer } => hub.pipe(me, &target, &transfer),
        Inbound::Relay {
            kind,
            target,
            message,
        } => {
            if let Some(handled) = appliance::intercept(me, hub, kind, &target, &message) {
                return handled;
            }
            hub.relay(me, &target, kind.as_str(), || {
                protocol::stamp_relay(kind, message, &me.id_str)
            })?;
            hub.metrics().relayed.inc();
            Ok(())
        }
    }
}

/// Errors go through the connection's own queue, behind what is already there.
fn reply(me: &Membership, err: &ProtocolError) {
    me.outbox.push(Outbound::Frame(err.to_json().into()));
}

/// Writes queued frames, flushing once per batch, and pings on schedule.
/// Returns when the queue has ended or the connection is broken.
async fn write_loop<W>(
    write: &mut W,
    rx: &mut Inbox,
    gathered: &mut Vec<Outbound>,
    ping_interval: Duration,
) where
    W: AsyncWrite + Unpin,
{
    let mut ping = tokio::time::interval_at(Instant::now() + ping_interval, ping_interval);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ping_frame = Frame::ping();
    loop {
        let result = tokio::select! {
            item = rx.recv() => {
                let Some(item) = item else { return };
                gathered.push(item);
                write_batch(write, rx, gathered, PRESENCE_DELAY).await
            }
            _ = ping.tick() => write_flushed(write, &ping_frame).await,
        };
        if let Err(err) = result {
            debug!(%err, "signaling write failed");
            return;
        }
    }
}

/// Writes `first` and whatever else the queue holds, up to the budgets, in
/// as few TLS records and system calls as rustls allows, then flushes.
///
/// While everything gathered is presence news ([`Outbound::Presence`]), it
/// waits up to `linger` for more to join it; anything else ends the wait.
/// What it gathers waits in `gathered` (which must hold at least one item),
/// so a writer cancelled mid-wait (the connection being closed) leaves it
/// there for the goodbye, not lost: a flooder's last errors say why it is
/// being cut off.
async fn write_batch<W>(
    write: &mut W,
    rx: &mut Inbox,
    gathered: &mut Vec<Outbound>,
    linger: Duration,
) -> io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    let deadline = Instant::now() + linger;
    let mut waiting = gathered.iter().all(Outbound::may_wait);
    let mut bytes: usize = gathered.iter().map(Outbound::bytes).sum();
    let mut yielded = false;
    while gathered.len() < MAX_COALESCE && bytes < WRITE_BUDGET {
        let mut next = rx.try_recv();
        // The queue is empty, but a fan-out (a join announced to the
        // room, a reload) may be pushing to us from another task right
        // now. Give it one turn of the scheduler before writing: its
        // frames then leave in the same TLS record and syscall instead
        // of one each. A lone relay waits only that one turn, when no
        // other task is ready to run, nothing at all.
        if next.is_none() && !yielded {
            yielded = true;
            tokio::task::yield_now().await;
            next = rx.try_recv();
        }
        if next.is_none() && waiting {
            // Only news of who is here: a peer list a few milliseconds
            // late is invisible, and a join storm's writes carry many
            // frames each instead of a handful.
            next = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .ok()
                .flatten();
        }
        let Some(item) = next else { break };
        waiting &= item.may_wait();
        bytes += item.bytes();
        gathered.push(item);
    }
    let items = std::mem::take(gathered);
    write_frames(write, items.iter().map(Outbound::frame)).await?;
    write.flush().await
}

async fn write_flushed<W>(write: &mut W, frame: &Frame) -> io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    write.write_all(frame.wire()).await?;
    write.flush().await
}

/// Writes every frame, handing rustls up to [`WRITE_BUDGET`] bytes (as
/// slices of the shared frames, not a copy) per call.
async fn write_frames<'a, W>(
    write: &mut W,
    frames: impl Iterator<Item = &'a Frame>,
) -> io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    let frames: Vec<&Bytes> = frames.map(Frame::wire).filter(|b| !b.is_empty()).collect();
    // Position: the frame, and how much of it has gone.
    let (mut at, mut done) = (0, 0);
    let mut slices: Vec<IoSlice<'_>> = Vec::new();
    while at < frames.len() {
        slices.clear();
        let mut size = 0;
        for (k, frame) in frames[at..].iter().enumerate() {
            let part = if k == 0 { &frame[done..] } else { &frame[..] };
            slices.push(IoSlice::new(part));
            size += part.len();
            if size >= WRITE_BUDGET || slices.len() >= MAX_SLICES {
                break;
            }
        }
        let mut n = write.write_vectored(&slices).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        // Advance past what was taken.
        while n > 0 {
            let left = frames[at].len() - done;
            if n >= left {
                n -= left;
                at += 1;
                done = 0;
            } else {
                done += n;
                n = 0;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtc::outbox::{outbox, Outbox};

    fn wire(frames: &[&str]) -> Vec<u8> {
        frames
            .iter()
            .flat_map(|f| Frame::text(f).wire().to_vec())
            .collect()
    }

    /// Pushes `items` at the given offsets (ms), then keeps the queue open.
    fn later(out: Outbox, items: Vec<(u64, Outbound)>) {
        tokio::spawn(async move {
            let start = Instant::now();
            for (at, item) in items {
                tokio::time::sleep_until(start + Duration::from_millis(at)).await;
                assert!(out.push(item));
            }
            std::future::pending::<()>().await;
        });
    }

    /// Runs one `write_batch` from `first`: how long it took, what it wrote.
    async fn timed_batch(rx: &mut Inbox, first: Outbound) -> (Duration, Vec<u8>) {
        let mut sent = Vec::new();
        let start = Instant::now();
        write_batch(&mut sent, rx, &mut vec![first], PRESENCE_DELAY)
            .await
            .unwrap();
        (start.elapsed(), sent)
    }

    #[tokio::test(start_paused = true)]
    async fn a_writer_cancelled_while_waiting_keeps_what_it_gathered() {
        let (_out, mut rx) = outbox(64, 1 << 20);
        let mut gathered = vec![Outbound::Presence(Frame::text("a"))];
        let mut sent = Vec::new();
        // The connection is closed 10 ms into the wait for more news...
        let cut = tokio::time::timeout(
            Duration::from_millis(10),
            write_batch(&mut sent, &mut rx, &mut gathered, PRESENCE_DELAY),
        )
        .await;
        assert!(cut.is_err(), "still waiting");
        assert!(sent.is_empty());
        assert_eq!(gathered.len(), 1, "what it took is kept");
        // ...and the goodbye writes it.
        write_batch(&mut sent, &mut rx, &mut gathered, Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(sent, wire(&["a"]));
        assert!(gathered.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn presence_news_waits_to_leave_together() {
        let (out, mut rx) = outbox(64, 1 << 20);
        later(
            out,
            vec![
                (10, Outbound::Presence(Frame::text("b"))),
                (20, Outbound::Presence(Frame::text("c"))),
                (70, Outbound::Presence(Frame::text("late"))),
            ],
        );
        let (took, sent) = timed_batch(&mut rx, Outbound::Presence(Frame::text("a"))).await;
        assert_eq!(took, PRESENCE_DELAY);
        assert_eq!(sent, wire(&["a", "b", "c"]), "one write, in order");
    }

    #[tokio::test(start_paused = true)]
    async fn anything_else_ends_the_wait_and_a_relay_never_waits() {
        let (out, mut rx) = outbox(64, 1 << 20);
        later(
            out.clone(),
            vec![
                (5, Outbound::Presence(Frame::text("b"))),
                (8, Outbound::Frame(Frame::text("offer"))),
            ],
        );
        let (took, sent) = timed_batch(&mut rx, Outbound::Presence(Frame::text("a"))).await;
        assert_eq!(took, Duration::from_millis(8));
        assert_eq!(sent, wire(&["a", "b", "offer"]));

        let (took, sent) = timed_batch(&mut rx, Outbound::Frame(Frame::text("answer"))).await;
        assert_eq!(took, Duration::ZERO);
        assert_eq!(sent, wire(&["answer"]));
        drop(out);
    }
}
