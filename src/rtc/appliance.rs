//! The signaling side of broadcasts the appliance serves: `publish` and
//! `unpublish` from a broadcaster's page, viewers' `watch` (and their
//! `hangup` and `icecandidate`) answered by the media server instead of the
//! broadcaster, and the media loop's notices turned into messages.
//!
//! A viewer's page cannot tell the two kinds of broadcast apart on the wire:
//! it sends `watch` to the broadcaster's id and gets `accept`, `reject` or
//! `hangup` back from that id, as it always did; old pages keep working.

use serde_json::{json, Map, Value};
use tokio::sync::mpsc;
use tracing::debug;
use uuid::Uuid;

use super::hub::{not_in_meeting, Hub, Membership};
use super::outbox::Outbound;
use super::protocol::{self, ErrorCode, ProtocolError, RelayKind};
use crate::media::{BroadcastKey, MediaError, Notice, Owner, Purpose};

/// Handles `publish`: the answer (or the refusal) comes back on the
/// connection's own queue once the media loop has it. With `meeting`, the
/// stream is the member's in its room's meeting.
pub fn publish(
    me: &Membership,
    hub: &Hub,
    sdp: String,
    meeting: bool,
    call: Option<&str>,
) -> Result<(), ProtocolError> {
    let Some(media) = hub.media() else {
        return Err(ProtocolError::new(
            ErrorCode::MediaRefused,
            "This server's media server is off (MEDIA=off); stream to viewers directly.",
            Some("publish"),
        ));
    };
    if !me.is_identified() {
        return Err(not_identified("publish"));
    }
    if meeting && hub.meeting_member(&me.room, me.id).is_none() {
        return Err(not_in_meeting("publish"));
    }
    let call = match call {
        None => None,
        Some(partner) => {
            let asked = hub.call_partner(&me.room, me.id);
            match asked.filter(|p| p.hyphenated().to_string() == partner) {
                Some(p) => Some(p),
                None => {
                    return Err(ProtocolError::new(
                        ErrorCode::BadMessage,
                        "Send call-relay with this call's peer before publishing its stream.",
                        Some("publish"),
                    ))
                }
            }
        }
    };
    let purpose = match (meeting, call) {
        (true, _) => Purpose::Meeting,
        (false, Some(_)) => Purpose::Call,
        (false, None) => Purpose::Live,
    };
    me.mark_media_use();
    let key = BroadcastKey {
        room: me.room.clone(),
        peer: me.id,
    };
    // A member's stream replaces a live broadcast it may have had: the page
    // stops going live before it joins.
    if purpose != Purpose::Live {
        hub.set_appliance(&me.room, me.id, false);
    }
    let answer = media.publish(key, Owner::Peer(me.id), sdp, purpose);
    let (hub, room, id, outbox) = (hub.clone(), me.room.clone(), me.id, me.outbox.clone());
    tokio::spawn(async move {
        let frame = match answer.await {
            Ok(answer) if purpose == Purpose::Meeting => {
                hub.set_publishing(&room, id, true);
                protocol::published(&answer.sdp, true)
            }
            Ok(answer) if purpose == Purpose::Call => {
                hub.set_call_publishing(&room, id, true);
                let partner = call.map(|p| p.hyphenated().to_string()).unwrap_or_default();
                protocol::published_for_call(&answer.sdp, &partner)
            }
            Ok(answer) => {
                hub.set_appliance(&room, id, true);
                protocol::published(&answer.sdp, false)
            }
            Err(err) => refused(&err, "publish"),
        };
        outbox.push(Outbound::Frame(frame.into()));
    });
    Ok(())
}

/// Handles `subscribe`: one meeting member's receive-only offer for
/// another's stream, answered with `subscribed` (or `unsubscribed` with a
/// reason) on the subscriber's queue.
pub fn subscribe(
    me: &Membership,
    hub: &Hub,
    target: &str,
    sdp: String,
) -> Result<(), ProtocolError> {
    let (media, target, publishing) = meeting_target(me, hub, target, "subscribe")?;
    let source = target.hyphenated().to_string();
    if !publishing {
        me.outbox.push(Outbound::Frame(
            protocol::unsubscribed(&source, "not-publishing").into(),
        ));
        return Ok(());
    }
    me.mark_media_use();
    let answer = media.watch(me.room.clone(), Some(target), Owner::Peer(me.id), sdp, true);
    let outbox = me.outbox.clone();
    tokio::spawn(async move {
        let frame = match answer.await {
            Ok(a) => protocol::subscribed(&source, &a.sdp),
            Err(MediaError::NoBroadcast) => protocol::unsubscribed(&source, "not-publishing"),
            Err(err) => {
                debug!(error = %err.message(), "meeting subscription refused");
                match err {
                    MediaError::BadSdp(_) | MediaError::NoMedia(_) => refused(&err, "subscribe"),
                    _ => protocol::unsubscribed(&source, "failed"),
                }
            }
        };
        outbox.push(Outbound::Frame(frame.into()));
    });
    Ok(())
}

pub fn unsubscribe(me: &Membership, hub: &Hub, target: &str) -> Result<(), ProtocolError> {
    let (media, target, _) = meeting_target(me, hub, target, "unsubscribe")?;
    media.stop_watching(
        BroadcastKey {
            room: me.room.clone(),
            peer: target,
        },
        me.id,
    );
    Ok(())
}

/// Checks a subscription's two ends: the media server is on, and the sender
/// and `target` are both in the room's meeting, or are the two sides of a
/// call carried through the appliance. Also says whether the target's
/// stream is there.
fn meeting_target<'h>(
    me: &Membership,
    hub: &'h Hub,
    target: &str,
    kind: &str,
) -> Result<(&'h crate::media::Media, Uuid, bool), ProtocolError> {
    let Some(media) = hub.media() else {
        return Err(ProtocolError::new(
            ErrorCode::MediaRefused,
            "This server's media server is off (MEDIA=off), so it holds no meetings.",
            Some(kind),
        ));
    };
    if hub.meeting_member(&me.room, me.id).is_none() && !hub.in_call_relay(&me.room, me.id) {
        return Err(not_in_meeting(kind));
    }
    let target = Uuid::parse_str(target).ok().filter(|t| *t != me.id);
    let allowed = target.and_then(|t| Some((t, hub.may_subscribe(&me.room, me.id, t)?)));
    let (target, publishing) = allowed.ok_or_else(|| {
        ProtocolError::new(
            ErrorCode::NotInMeeting,
            "data.target is not another member of this room's meeting, nor the other side of your call through the appliance.",
            Some(kind),
        )
    })?;
    Ok((media, target, publishing))
}

pub fn unpublish(me: &Membership, hub: &Hub) -> Result<(), ProtocolError> {
    if let Some(media) = hub.media() {
        hub.set_appliance(&me.room, me.id, false);
        media.unpublish(BroadcastKey {
            room: me.room.clone(),
            peer: me.id,
        });
    }
    Ok(())
}

/// A relayed message to a peer whose broadcast the appliance serves: the
/// viewer's side of that broadcast is handled here. Returns `None` for
/// anything else (a call to that peer is relayed as ever).
pub fn intercept(
    me: &Membership,
    hub: &Hub,
    kind: RelayKind,
    target: &str,
    message: &Map<String, Value>,
) -> Option<Result<(), ProtocolError>> {
    let media = hub.media()?;
    let from_viewer = kind == RelayKind::Watch
        || message
            .get("data")
            .and_then(|d| d.get("stream"))
            .and_then(Value::as_str)
            == Some("viewer");
    if !from_viewer {
        return None;
    }
    let broadcaster = hub.appliance_broadcast(&me.room, target)?;
    if !me.is_identified() {
        return Some(Err(not_identified(kind.as_str())));
    }
    let key = BroadcastKey {
        room: me.room.clone(),
        peer: broadcaster,
    };
    match kind {
        RelayKind::Watch => {
            let sdp = message
                .get("data")
                .and_then(|d| d.get("sdp"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            me.mark_media_use();
            let answer = media.watch(
                me.room.clone(),
                Some(broadcaster),
                Owner::Peer(me.id),
                sdp,
                false,
            );
            let outbox = me.outbox.clone();
            let source = broadcaster.hyphenated().to_string();
            tokio::spawn(async move {
                let frame = match answer.await {
                    Ok(a) => protocol::from_appliance(
                        RelayKind::Accept,
                        &source,
                        json!({ "type": "answer", "sdp": a.sdp }),
                    ),
                    Err(err) => {
                        let reason = match err {
                            MediaError::Full => "full",
                            MediaError::NoBroadcast => "not-live",
                            _ => "failed",
                        };
                        debug!(error = %err.message(), "appliance watch refused");
                        protocol::from_appliance(
                            RelayKind::Reject,
                            &source,
                            json!({ "reason": reason }),
                        )
                    }
                };
                outbox.push(Outbound::Frame(frame.into()));
            });
        }
        RelayKind::Hangup => media.stop_watching(key, me.id),
        // The media server is ICE-lite: it answers the viewer's checks and
        // needs none of its candidates. Anything else a viewer might send
        // has no one to go to.
        _ => {}
    }
    Some(Ok(()))
}

/// Turns the media loop's notices into messages, until the loop stops.
pub async fn follow(hub: Hub, mut notices: mpsc::Receiver<Notice>) {
    while let Some(notice) = notices.recv().await {
        match notice {
            Notice::BroadcastEnded {
                key,
                owner,
                reason,
                meeting: true,
            } if hub.in_call_relay(&key.room, key.peer) => {
                hub.set_call_publishing(&key.room, key.peer, false);
                if owner == Owner::Peer(key.peer) && !matches!(reason, "stopped" | "left") {
                    hub.send_to(&key.room, key.peer, protocol::unpublished_call(reason));
                }
            }
            Notice::BroadcastEnded {
                key,
                owner,
                reason,
                meeting: true,
            } => {
                hub.set_publishing(&key.room, key.peer, false);
                if owner == Owner::Peer(key.peer) && !matches!(reason, "stopped" | "left") {
                    hub.send_to(&key.room, key.peer, protocol::unpublished(reason, true));
                }
            }
            Notice::BroadcastEnded {
                key,
                owner,
                reason,
                meeting: false,
            } => match owner {
                Owner::Http => hub.remove_stream(&key.room, key.peer),
                // "stopped" and "left" were the peer's own doing (unpublish,
                // off air, a new publish, leaving), and the hub already knows;
                // clearing the flag here could undo a publish that came
                // after. Only an end the peer did not ask for is news.
                Owner::Peer(_) if matches!(reason, "stopped" | "left") => {}
                Owner::Peer(peer) => {
                    hub.set_appliance(&key.room, peer, false);
                    hub.send_to(&key.room, peer, protocol::unpublished(reason, false));
                }
            },
            Notice::ViewerEnded {
                key,
                viewer: Owner::Peer(viewer),
                reason,
                meeting: true,
            } => {
                let frame = protocol::unsubscribed(&key.peer.hyphenated().to_string(), reason);
                hub.send_to(&key.room, viewer, frame);
            }
            Notice::ViewerEnded {
                key,
                viewer: Owner::Peer(viewer),
                reason,
                meeting: false,
            } => {
                let frame = protocol::from_appliance(
                    RelayKind::Hangup,
                    &key.peer.hyphenated().to_string(),
                    json!({ "reason": reason }),
                );
                hub.send_to(&key.room, viewer, frame);
            }
            Notice::ViewerEnded {
                viewer: Owner::Http,
                ..
            } => {}
            Notice::Speaker { room, peer } => hub.set_speaker(&room, peer),
            Notice::Audience { key, viewers } => {
                let frame = json!({ "type": "audience", "data": { "viewers": viewers } });
                hub.send_to(&key.room, key.peer, frame.to_string());
            }
        }
    }
}

fn not_identified(kind: &str) -> ProtocolError {
    ProtocolError::new(
        ErrorCode::NotIdentified,
        "Send identify with your id and name before using the media server.",
        Some(kind),
    )
}

fn refused(err: &MediaError, kind: &str) -> String {
    ProtocolError::new(ErrorCode::MediaRefused, err.message(), Some(kind)).to_json()
}
