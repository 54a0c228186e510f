//! WHIP (RFC 9725) and WHEP: publishing to and watching from the media
//! server over plain HTTP requests, the way OBS, GStreamer, ffmpeg and
//! players do it.
//!
//! - `POST /whip/<room>[?name=…]` with an SDP offer publishes; the stream is
//!   listed in the room as a live peer.
//! - `POST /whep/<room>` watches the room's newest broadcast,
//!   `POST /whep/<room>/<peer id>` a chosen one.
//! - Each answer is `201 Created` with the session's `Location`; `DELETE`
//!   on it ends the session.
//!
//! The answer is complete (ICE-lite, every candidate in it), so no trickle
//! (`PATCH`) is needed. With `ACCESS_KEY` set every request needs
//! `Authorization: Bearer <key>`, checked before anything else.

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use uuid::Uuid;

use crate::app::App;
use crate::media::{Answer, BroadcastKey, MediaError, Owner, Purpose};
use crate::respond::{query_param, response, text_response, Body};
use crate::rtc::protocol::clean_name;
use crate::rtc::{room, Room};

/// An SDP offer with every codec and candidate is a few KiB; anything past
/// this is not an offer.
const MAX_OFFER_BYTES: usize = 64 * 1024;
/// What a stream published without `?name=` is called in the room.
pub const DEFAULT_NAME: &str = "WHIP stream";
/// When a full broadcast may have room again: viewers come and go.
const RETRY_AFTER_SECS: &str = "10";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Whip,
    Whep,
}

/// Whether `path` is for this module.
pub fn handles(path: &str) -> bool {
    ["/whip", "/whep"].iter().any(|p| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// The parts of a WHIP or WHEP path.
#[derive(Debug, PartialEq)]
struct Target {
    kind: Kind,
    room: Room,
    /// WHEP: the broadcaster chosen in the path.
    peer: Option<Uuid>,
    /// A session resource (the `Location` of an answer).
    session: Option<Uuid>,
}

/// Parses `/whip/<room>[/<session>]` and `/whep/<room>[/<peer>[/<session>]]`.
fn parse_path(path: &str) -> Result<Target, (StatusCode, String)> {
    let (kind, rest) = if let Some(rest) = path.strip_prefix("/whip") {
        (Kind::Whip, rest)
    } else if let Some(rest) = path.strip_prefix("/whep") {
        (Kind::Whep, rest)
    } else {
        return Err(not_found());
    };
    let parts: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    let name = percent_encoding::percent_decode_str(parts[0]).decode_utf8_lossy();
    let Some(room) = Room::named(&name) else {
        return Err((
            StatusCode::BAD_REQUEST,
            format!(
                "{} needs a room: /{}/<room>. {}",
                if kind == Kind::Whip { "WHIP" } else { "WHEP" },
                if kind == Kind::Whip { "whip" } else { "whep" },
                room::ROOM_RULE
            ),
        ));
    };
    let id = |s: &str| Uuid::parse_str(s).map_err(|_| not_found());
    let (peer, session) = match (kind, &parts[1..]) {
        (_, []) => (None, None),
        (Kind::Whip, [session]) => (None, Some(id(session)?)),
        (Kind::Whep, [peer]) => (Some(id(peer)?), None),
        (Kind::Whep, [peer, session]) => (Some(id(peer)?), Some(id(session)?)),
        _ => return Err(not_found()),
    };
    Ok(Target {
        kind,
        room,
        peer,
        session,
    })
}

fn not_found() -> (StatusCode, String) {
    (
        StatusCode::NOT_FOUND,
        "Not found. Publish with POST /whip/<room>, watch with POST /whep/<room>.".into(),
    )
}

/// Handles a request whose path [`handles`] accepted.
pub async fn handle(req: Request<Incoming>, app: &App) -> Response<Body> {
    if let Some(key) = &app.access {
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if !bearer.is_some_and(|b| key.matches(b)) {
            let mut res = text_response(
                StatusCode::UNAUTHORIZED,
                "This server needs its access key: send Authorization: Bearer <key> (in OBS, the Bearer Token field).\n",
            );
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return res;
        }
    }
    let target = match parse_path(req.uri().path()) {
        Ok(t) => t,
        Err((status, text)) => return text_response(status, &format!("{text}\n")),
    };
    let Some(media) = &app.media else {
        return text_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "The media server is off on this appliance (MEDIA=off), so it takes no WHIP or WHEP sessions.\n",
        );
    };
    match (req.method().clone(), target.session) {
        (Method::POST, None) => {}
        (Method::DELETE, Some(session)) => {
            return if media.end(target.room, session).await {
                text_response(StatusCode::OK, "Session ended.\n")
            } else {
                text_response(
                    StatusCode::NOT_FOUND,
                    "No such session (it may have ended already).\n",
                )
            };
        }
        (Method::OPTIONS, _) => return allow(StatusCode::NO_CONTENT, target.session.is_some(), ""),
        (_, session) => {
            return allow(
                StatusCode::METHOD_NOT_ALLOWED,
                session.is_some(),
                if session.is_some() {
                    "A session accepts only DELETE (no trickle ICE is needed: the answer has every candidate).\n"
                } else {
                    "Send the SDP offer with POST.\n"
                },
            )
        }
    }
    let is_sdp = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/sdp"));
    if !is_sdp {
        return text_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "The offer must be sent as Content-Type: application/sdp.\n",
        );
    }
    let name = query_param(req.uri().query(), "name");
    let offer = match read_offer(req).await {
        Ok(o) => o,
        Err(res) => return res,
    };
    let result = match target.kind {
        Kind::Whip => {
            let peer = Uuid::new_v4();
            let key = BroadcastKey {
                room: target.room.clone(),
                peer,
            };
            let answer = media.publish(key, Owner::Http, offer, Purpose::Live).await;
            if let Ok(a) = &answer {
                let name = clean_name(name.as_deref().unwrap_or(DEFAULT_NAME));
                if !app.hub.add_stream(&target.room, peer, name) {
                    media.end_session(target.room.clone(), a.session);
                    return text_response(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "This server holds as many peers as it allows (MAX_PEERS); try again later.\n",
                    );
                }
            }
            answer
        }
        Kind::Whep => {
            media
                .watch(target.room.clone(), target.peer, Owner::Http, offer, false)
                .await
        }
    };
    match result {
        Ok(answer) => created(&target, &answer),
        Err(err) => refused(&err),
    }
}

async fn read_offer(req: Request<Incoming>) -> Result<String, Response<Body>> {
    let body = Limited::new(req.into_body(), MAX_OFFER_BYTES)
        .collect()
        .await
        .map_err(|_| {
            text_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The offer is larger than 64 KiB, which no SDP offer needs.\n",
            )
        })?
        .to_bytes();
    String::from_utf8(body.to_vec())
        .map_err(|_| text_response(StatusCode::BAD_REQUEST, "The offer is not UTF-8 text.\n"))
}

fn created(target: &Target, answer: &Answer) -> Response<Body> {
    let location = match target.kind {
        Kind::Whip => format!("/whip/{}/{}", target.room.as_str(), answer.session),
        Kind::Whep => format!(
            "/whep/{}/{}/{}",
            target.room.as_str(),
            answer.peer,
            answer.session
        ),
    };
    let mut res = response(StatusCode::CREATED, "application/sdp", answer.sdp.clone());
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

fn refused(err: &MediaError) -> Response<Body> {
    let status = match err {
        MediaError::BadSdp(_) | MediaError::NoMedia(_) => StatusCode::BAD_REQUEST,
        MediaError::NoBroadcast => StatusCode::NOT_FOUND,
        MediaError::Full | MediaError::Busy => StatusCode::SERVICE_UNAVAILABLE,
    };
    let mut res = text_response(status, &format!("{}\n", err.message()));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECS),
        );
    }
    res
}

fn allow(status: StatusCode, session: bool, text: &str) -> Response<Body> {
    let mut res = text_response(status, text);
    let methods = if session {
        "DELETE, OPTIONS"
    } else {
        "POST, OPTIONS"
    };
    res.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(methods));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let id = Uuid::new_v4();
        let t = parse_path("/whip/team").unwrap();
        assert_eq!(
            (t.kind, t.room.as_str(), t.peer, t.session),
            (Kind::Whip, "team", None, None)
        );
        let t = parse_path(&format!("/whip/team/{id}")).unwrap();
        assert_eq!(t.session, Some(id));
        let t = parse_path(&format!("/whep/team/{id}")).unwrap();
        assert_eq!((t.peer, t.session), (Some(id), None));
        let t = parse_path(&format!("/whep/team/{id}/{id}")).unwrap();
        assert_eq!((t.peer, t.session), (Some(id), Some(id)));
        for (bad, status) in [
            ("/whip", StatusCode::BAD_REQUEST),
            ("/whip/", StatusCode::BAD_REQUEST),
            ("/whip/a%20b", StatusCode::BAD_REQUEST),
            ("/whip/../x", StatusCode::BAD_REQUEST),
            (
                &*format!("/whip/{}", "x".repeat(65)),
                StatusCode::BAD_REQUEST,
            ),
            ("/whip/team/not-a-uuid", StatusCode::NOT_FOUND),
            (&*format!("/whip/team/{id}/{id}"), StatusCode::NOT_FOUND),
            (&*format!("/whep/team/{id}/{id}/x"), StatusCode::NOT_FOUND),
        ] {
            assert_eq!(parse_path(bad).unwrap_err().0, status, "{bad}");
        }
        assert!(handles("/whip") && handles("/whep/x") && !handles("/whipx") && !handles("/"));
    }
}
