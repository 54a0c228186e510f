//! One signaling connection: a reader that parses, rate-limits and dispatches
//! what the client sends, and a writer that drains the connection's bounded
//! queue, coalescing queued frames into one flush, and pings.
//!
//! The connection ends when either side ends, when the hub asks it to close
//! (shutdown, or a client too slow to read), or when nothing has arrived for
//! the idle timeout. Dropping the [`Membership`] then unregisters it.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;
use tracing::debug;

use super::appliance;
use super::hub::{CloseReason, Hub, Membership};
use super::outbox::{Inbox, Outbound};
use super::protocol::{self, ErrorCode, Inbound, ProtocolError};
use super::ratelimit::{RateLimiter, Verdict};
use crate::config::Limits;

/// Largest message accepted. An SDP with many codecs and candidates is under
/// 16 KiB; 64 KiB leaves room and keeps a hostile client from making the
/// server buffer megabytes.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// How long a close frame may take to leave before the socket is just dropped.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Most queued frames written before one flush.
const MAX_COALESCE: usize = 64;

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
/// - The read buffer is filled (and zeroed) to its full size on every
///   connection, and reads come from rustls's decrypted plaintext, not from
///   the kernel, so small chunks cost only function calls: 512 bytes.
/// - `write_buffer_size` is where tungstenite starts writing its buffer out,
///   not a cap: the buffer grows past it and never shrinks. At 8 KiB every
///   peer kept 10–20 KiB after one burst (heap profile at 10,000 peers). At
///   2 KiB the join storm cost ~20 % more server CPU (more, smaller TLS
///   records); 4 KiB keeps both memory and CPU within the targets (README,
///   "Performance"). 0 is worse on both: one record and one syscall per frame.
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES))
        .read_buffer_size(512)
        .write_buffer_size(4 * 1024)
        .max_write_buffer_size(MAX_MESSAGE_BYTES * 4)
}

/// Runs a connection to its end.
pub async fn serve<S>(
    ws: WebSocketStream<S>,
    me: Membership,
    mut rx: Inbox,
    hub: Hub,
    limits: Limits,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut sink, mut stream) = ws.split();
    let mut close_rx = me.close.clone();
    let reason = {
        let reader = read_loop(&mut stream, &me, &hub, &limits);
        let writer = write_loop(&mut sink, &mut rx, limits.ping_interval);
        tokio::select! {
            r = reader => r,
            r = writer => r,
            r = close_rx.wait_for(Option::is_some) => r.ok().and_then(|reason| *reason),
        }
    };
    debug!(peer = %me.id, ?reason, "signaling connection ending");
    let id = me.id;
    // Unregister (and announce the removal) before the close handshake, which
    // may wait on a slow client.
    drop(me);
    if let Some(reason) = reason {
        hub.metrics().closed(reason.label);
        // A close the server starts must reach the client, after what was
        // already queued for it (a flooder's `rate-limited` errors say why
        // it is being closed). Then the client's own close is awaited,
        // reading and discarding what it still sends: a socket closed with
        // unread input makes the kernel answer with a reset, which destroys
        // everything still in flight to the client, close frame included.
        // Each step is bounded, so a client that reads nothing costs at most
        // a few seconds.
        let frame = CloseFrame {
            code: CloseCode::from(reason.code),
            reason: reason.reason.into(),
        };
        let goodbye = async {
            // A few batches at most: a queue that keeps filling is not ours
            // to empty before saying goodbye.
            for _ in 0..4 {
                let Some(item) = rx.try_recv() else { break };
                if write_batch(&mut sink, &mut rx, item).await.is_err() {
                    return;
                }
            }
            let _ = sink.send(Message::Close(Some(frame))).await;
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
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.close()).await;
    debug!(peer = %id, "signaling connection closed");
}

/// Reads until the client leaves or must be closed; returns the close reason
/// to send, if any.
async fn read_loop<S>(
    stream: &mut futures_util::stream::SplitStream<WebSocketStream<S>>,
    me: &Membership,
    hub: &Hub,
    limits: &Limits,
) -> Option<CloseReason>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut limiter = RateLimiter::new(limits.rate_limit);
    let mut last_seen = Instant::now();
    loop {
        let next = tokio::time::timeout_at(last_seen + limits.idle_timeout, stream.next()).await;
        let message = match next {
            Err(_) => return Some(IDLE),
            Ok(None) => return None,
            Ok(Some(Err(WsError::Capacity(_)))) => return Some(TOO_BIG),
            Ok(Some(Err(err))) => {
                debug!(peer = %me.id, %err, "signaling read ended");
                return None;
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
                Verdict::Flooding => return Some(FLOODING),
            },
            Message::Binary(_) => return Some(BINARY),
            Message::Close(_) => return None,
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
    }
}

fn dispatch(text: &str, me: &Membership, hub: &Hub) -> Result<(), ProtocolError> {
    match protocol::parse(text)? {
        Inbound::Identify { id, name, live } => hub.identify(me, &id, name, live),
        Inbound::Publish { sdp, meeting, call } => {
            appliance::publish(me, hub, sdp, meeting, call.as_deref())
        }
        Inbound::CallRelay { target } => hub.call_relay(me, target.as_deref()),
        Inbound::Meeting(action) => hub.meeting(me, action),
        Inbound::Subscribe { target, sdp } => appliance::subscribe(me, hub, &target, sdp),
        Inbound::Unsubscribe { target } => appliance::unsubscribe(me, hub, &target),
        Inbound::Unpublish => appliance::unpublish(me, hub),
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
    me.outbox.push(Outbound::Text(err.to_json().into()));
}

/// Writes queued frames, flushing once per batch, and pings on schedule.
async fn write_loop<S>(
    sink: &mut futures_util::stream::SplitSink<WebSocketStream<S>, Message>,
    rx: &mut Inbox,
    ping_interval: Duration,
) -> Option<CloseReason>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut ping = tokio::time::interval_at(Instant::now() + ping_interval, ping_interval);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let result = tokio::select! {
            item = rx.recv() => {
                let item = item?;
                write_batch(sink, rx, item).await
            }
            _ = ping.tick() => sink.send(Message::Ping(Default::default())).await,
        };
        if let Err(err) = result {
            debug!(%err, "signaling write failed");
            return None;
        }
    }
}

async fn write_batch<S>(
    sink: &mut futures_util::stream::SplitSink<WebSocketStream<S>, Message>,
    rx: &mut Inbox,
    first: Outbound,
) -> Result<(), WsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut item = Some(first);
    let mut written = 0;
    let mut yielded = false;
    while let Some(next) = item.take() {
        match next {
            Outbound::Text(text) => sink.feed(Message::Text(text)).await?,
            Outbound::Batch(frames) => {
                for text in frames {
                    sink.feed(Message::Text(text)).await?;
                }
            }
        }
        written += 1;
        if written < MAX_COALESCE {
            item = rx.try_recv();
            // The queue is empty, but a fan-out (a join announced to the
            // room, a reload) may be pushing to us from another task right
            // now. Give it one turn of the scheduler before writing: its
            // frames then leave in the same TLS record and syscall instead
            // of one each. A lone relay waits only that one turn, when no
            // other task is ready to run, nothing at all.
            if item.is_none() && !yielded {
                yielded = true;
                tokio::task::yield_now().await;
                item = rx.try_recv();
            }
        }
    }
    sink.flush().await
}
