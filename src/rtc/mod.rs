//! Signaling at `/rtc`: the HTTP side of the WebSocket upgrade.
//!
//! - `protocol` — message types, parsing, serialization, name cleaning.
//! - `appliance` — broadcasts served by the media server: `publish`,
//!   viewers' `watch` answered by it, its notices turned into messages.
//! - `hub` — the registry of connections and identified peers; fan-out;
//!   each room's meeting.
//! - `meeting` — a meeting's members, their flags and its speaker (pure).
//! - `frame` — server-to-client WebSocket frames, built once for every recipient.
//! - `outbox` — a connection's outbound queue, bounded in frames and bytes.
//! - `socket` — one connection's read/write loop, limits and keepalive.
//! - `ratelimit` — the per-connection token bucket.
//! - `rejoin` — the token that lets a page back on a new connection prove
//!   the id it had.
//! - `room` — room names; which room a page or socket URL names.

pub mod appliance;
pub mod frame;
pub mod hub;
pub mod meeting;
pub mod outbox;
pub mod protocol;
pub mod ratelimit;
pub mod rejoin;
pub mod room;
pub mod socket;

use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tracing::debug;

use crate::config::Limits;
use crate::respond::{query_param, text_response, Body};
pub use hub::Hub;
pub use room::Room;

/// The signaling path.
pub const PATH: &str = "/rtc";

/// Whether the request asks for a WebSocket upgrade.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    header_has_token(headers, header::CONNECTION, "upgrade")
        && header_has_token(headers, header::UPGRADE, "websocket")
}

fn header_has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Answers a request for `/rtc`: 101 and a spawned socket task, or an error
/// response that says what was wrong.
/// `place` is this address's signaling place; the socket keeps it to its end.
pub fn upgrade(
    mut req: Request<Incoming>,
    hub: &Hub,
    limits: &Limits,
    place: crate::per_address::Guard,
) -> Response<Body> {
    let headers = req.headers();
    if !is_upgrade(headers) {
        return text_response(
            StatusCode::BAD_REQUEST,
            "This is the signaling endpoint; connect to it with a WebSocket (wss://.../rtc).\n",
        );
    }
    let accept = match accept_key(headers) {
        Ok(accept) => accept,
        Err(res) => return *res,
    };
    let room = match query_param(req.uri().query(), "room") {
        None => Room::lobby(),
        Some(name) => match Room::named(&name) {
            Some(room) => room,
            None => {
                return text_response(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "The room parameter is not a valid room name. {}\n",
                        room::ROOM_RULE
                    ),
                )
            }
        },
    };
    let protocol = first_subprotocol(headers);
    let Some((membership, queue)) = hub.register(room) else {
        return text_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "This server holds as many signaling connections as it allows (MAX_PEERS); try again later.\n",
        );
    };

    let on_upgrade = hyper::upgrade::on(&mut req);
    let (hub, limits) = (hub.clone(), limits.clone());
    let guard = hub.task_guard();
    tokio::spawn(async move {
        let _guard = guard;
        let _place = place;
        match on_upgrade.await {
            Ok(upgraded) => {
                socket::serve(TokioIo::new(upgraded), membership, queue, hub, limits).await;
            }
            // The membership drops here, unregistering the connection.
            Err(err) => debug!(%err, "WebSocket upgrade failed"),
        }
    });
    switching_protocols(&accept, protocol)
}

/// The checks every WebSocket upgrade passes (version, key, same origin):
/// the `Sec-WebSocket-Accept` value, or the response that says what was
/// wrong.
pub fn accept_key(headers: &HeaderMap) -> Result<String, Box<Response<Body>>> {
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        let mut res = text_response(
            StatusCode::BAD_REQUEST,
            "Unsupported WebSocket version; use version 13.\n",
        );
        res.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return Err(Box::new(res));
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return Err(Box::new(text_response(
            StatusCode::BAD_REQUEST,
            "Missing Sec-WebSocket-Key header.\n",
        )));
    };
    if !origin_allowed(headers) {
        return Err(Box::new(text_response(
            StatusCode::FORBIDDEN,
            "Cross-origin WebSocket connections are refused: the page must be served by this server.\n",
        )));
    }
    Ok(derive_accept_key(key.as_bytes()))
}

/// The `101 Switching Protocols` answer to an upgrade that passed.
pub fn switching_protocols(accept: &str, protocol: Option<HeaderValue>) -> Response<Body> {
    let mut res = Response::new(Body::default());
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = res.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(
        header::SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(accept).expect("base64 is a valid header"),
    );
    if let Some(p) = protocol {
        h.insert(header::SEC_WEBSOCKET_PROTOCOL, p);
    }
    res
}

/// Like the `ws` library: answer with the first subprotocol the client offered.
fn first_subprotocol(headers: &HeaderMap) -> Option<HeaderValue> {
    let offered = headers.get(header::SEC_WEBSOCKET_PROTOCOL)?.to_str().ok()?;
    let first = offered.split(',').map(str::trim).find(|p| !p.is_empty())?;
    HeaderValue::from_str(first).ok()
}

/// A browser sends `Origin`; it must name the same host and port as `Host`,
/// so a page elsewhere cannot drive a visitor's browser into our hub. Native
/// clients send no `Origin` and are allowed.
fn origin_allowed(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" | "wss" => 443,
        "http" | "ws" => 80,
        _ => return false,
    };
    match (
        split_authority(authority, default_port),
        split_authority(host, 443),
    ) {
        (Some(a), Some(b)) => a.0.eq_ignore_ascii_case(&b.0) && a.1 == b.1,
        _ => false,
    }
}

/// `host[:port]` or `[v6][:port]` into (host, port).
fn split_authority(authority: &str, default_port: u16) -> Option<(String, u16)> {
    let authority = authority.trim().trim_end_matches('/');
    if authority.is_empty() || authority.contains(['/', '@', ' ']) {
        return None;
    }
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host.to_string(), port.parse().ok()?)),
        None => Some((authority.to_string(), default_port)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origins() {
        for (origin, host, ok) in [
            (None, "a:8443", true),
            (Some("https://a:8443"), "a:8443", true),
            (Some("https://A:8443"), "a:8443", true),
            (Some("https://a"), "a:443", true),
            (Some("https://a"), "a", true),
            (Some("https://[::1]:8443"), "[::1]:8443", true),
            (Some("https://evil.example"), "a:8443", false),
            (Some("https://a:9999"), "a:8443", false),
            (Some("null"), "a:8443", false),
            (Some("https://a@b:8443"), "b:8443", false),
        ] {
            let mut pairs = vec![("host", host)];
            if let Some(o) = origin {
                pairs.push(("origin", o));
            }
            assert_eq!(origin_allowed(&headers(&pairs)), ok, "{origin:?} vs {host}");
        }
    }

    #[test]
    fn subprotocol_is_the_first_offered() {
        let h = headers(&[("sec-websocket-protocol", "userid, 1234")]);
        assert_eq!(first_subprotocol(&h).unwrap(), "userid");
        assert!(first_subprotocol(&HeaderMap::new()).is_none());
    }
}
