//! The signaling wire format (see `docs/protocol.md`): parsing what clients
//! send and building what the server sends. No I/O and no shared state here,
//! so every rule is unit-testable and fuzzable.
//!
//! Relayed messages are kept as the JSON object the client sent: only
//! `data.source` (and for `icecandidate`, `data.id`) are overwritten, so fields
//! this server does not know pass through to the other peer unchanged.

use serde_json::{json, Map, Value};

use super::meeting::MemberFlags;

/// Longest display name kept, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// `identify`'s `data.rejoin`: "I was `id` before my signaling dropped".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejoinClaim {
    pub id: String,
    pub token: String,
}

const REJOIN_SHAPE: &str =
    "data.rejoin must be {\"id\", \"token\"}: the id and rejoin token of an earlier ready message.";

/// What a client may send.
#[derive(Debug, PartialEq)]
pub enum Inbound {
    /// First identify, a rename, or going live or off air. `name` is
    /// already cleaned.
    Identify {
        id: String,
        name: String,
        live: bool,
        /// The id this page had on an earlier connection and the token that
        /// proves it (see `rejoin`).
        rejoin: Option<RejoinClaim>,
    },
    /// Go live through the appliance's media server with this SDP offer
    /// (send-only media), or with `meeting` send this member's camera and
    /// microphone to the room's meeting; answered with `published`.
    Publish {
        sdp: String,
        meeting: bool,
        /// One side of a 1:1 call carried through the appliance, to this peer.
        call: Option<String>,
    },
    /// Carry my call with `target` through the appliance (`None`: stop).
    CallRelay { target: Option<String> },
    /// Join, leave, or say what one's microphone, camera and screen do.
    Meeting(MeetingAction),
    /// A meeting member's receive-only offer for another member's stream.
    Subscribe { target: String, sdp: String },
    /// Stop receiving another member's stream.
    Unsubscribe { target: String },
    /// Stop the broadcast held by the appliance.
    Unpublish,
    /// Is this connection alive? Answered with [`PONG`].
    Ping,
    /// Carry file transfer `transfer` to `target` through the appliance
    /// (`crate::pipe`); answered to both with `pipe`.
    Pipe { target: String, transfer: String },
    /// A message for one other peer; `message` is the whole object as sent.
    Relay {
        kind: RelayKind,
        target: String,
        message: Map<String, Value>,
    },
}

/// What a `meeting` message asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeetingAction {
    Join(MemberFlags),
    Leave,
    Update(MemberFlags),
    /// How wide (in device pixels) this member shows each other member's
    /// tile, so no layer larger than a tile needs is sent.
    View(Vec<(String, u32)>),
}

/// Most tiles a `view` may list (a meeting's limit is at most 32).
pub const MAX_TILES: usize = 32;
/// Widest tile taken, in device pixels (an 8K screen).
pub const MAX_TILE_WIDTH: u64 = 8192;

/// The relayed message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayKind {
    Offer,
    Accept,
    Reject,
    IceCandidate,
    Hangup,
    /// A viewer's receive-only offer to a live peer.
    Watch,
    /// Setting up a file transfer's own connection (`data.transfer` names it).
    Transfer,
}

impl RelayKind {
    /// The message `type` on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            RelayKind::Offer => "offer",
            RelayKind::Accept => "accept",
            RelayKind::Reject => "reject",
            RelayKind::IceCandidate => "icecandidate",
            RelayKind::Hangup => "hangup",
            RelayKind::Watch => "watch",
            RelayKind::Transfer => "transfer",
        }
    }
}

/// Error codes sent back in `{"type":"error"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadJson,
    BadMessage,
    UnknownType,
    NotIdentified,
    BadId,
    UnknownTarget,
    RateLimited,
    /// The target is a stream published to the appliance (WHIP), not a device.
    NotCallable,
    /// The media server is off, busy, or refused the offer.
    MediaRefused,
    /// No pipe through the appliance now (too many).
    PipeRefused,
    /// The room's meeting has `MAX_MEETING` members.
    MeetingFull,
    /// A meeting message from (or about) a peer that is not in the meeting.
    NotInMeeting,
    /// `identify`'s `data.rejoin` does not prove that id (identify still
    /// went through, as a newcomer).
    BadRejoin,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadJson => "bad-json",
            ErrorCode::BadMessage => "bad-message",
            ErrorCode::UnknownType => "unknown-type",
            ErrorCode::NotIdentified => "not-identified",
            ErrorCode::BadId => "bad-id",
            ErrorCode::UnknownTarget => "unknown-target",
            ErrorCode::RateLimited => "rate-limited",
            ErrorCode::NotCallable => "not-callable",
            ErrorCode::MediaRefused => "media-refused",
            ErrorCode::PipeRefused => "pipe-refused",
            ErrorCode::MeetingFull => "meeting-full",
            ErrorCode::NotInMeeting => "not-in-meeting",
            ErrorCode::BadRejoin => "bad-rejoin",
        }
    }
}

/// A protocol error for the offending client.
#[derive(Debug, PartialEq)]
pub struct ProtocolError {
    pub code: ErrorCode,
    pub message: String,
    /// The offending message's `type`, when it had one.
    pub r#ref: Option<String>,
}

impl ProtocolError {
    pub fn new(code: ErrorCode, message: impl Into<String>, r#ref: Option<&str>) -> Self {
        ProtocolError {
            code,
            message: message.into(),
            // A type string is echoed back, so keep the echo short.
            r#ref: r#ref.map(|t| t.chars().take(MAX_NAME_CHARS).collect()),
        }
    }

    /// The JSON frame for this error.
    pub fn to_json(&self) -> String {
        let mut data = json!({ "code": self.code.as_str(), "message": self.message });
        if let Some(r) = &self.r#ref {
            data["ref"] = Value::String(r.clone());
        }
        json!({ "type": "error", "data": data }).to_string()
    }
}

/// Parses one text frame.
pub fn parse(text: &str) -> Result<Inbound, ProtocolError> {
    let value: Value = serde_json::from_str(text).map_err(|err| {
        ProtocolError::new(
            ErrorCode::BadJson,
            format!("The message is not valid JSON ({err})."),
            None,
        )
    })?;
    let Value::Object(mut message) = value else {
        return Err(ProtocolError::new(
            ErrorCode::BadJson,
            "A message must be a JSON object.",
            None,
        ));
    };
    let kind = match message.get("type") {
        Some(Value::String(t)) => t.clone(),
        _ => {
            return Err(ProtocolError::new(
                ErrorCode::BadMessage,
                "A message needs a string field \"type\".",
                None,
            ))
        }
    };
    let bad = |what: &str| ProtocolError::new(ErrorCode::BadMessage, what.to_string(), Some(&kind));
    let relay_kind = match kind.as_str() {
        "identify" => {
            let data = message.get("data").and_then(Value::as_object).ok_or_else(|| {
                bad("identify needs an object \"data\" with the id from ready and a name.")
            })?;
            let id = data
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("identify needs data.id, the id this connection got in ready."))?;
            let name = match data.get("name") {
                None | Some(Value::Null) => "",
                Some(Value::String(name)) => name.as_str(),
                Some(_) => return Err(bad("data.name must be a string.")),
            };
            let live = match data.get("live") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(live)) => *live,
                Some(_) => return Err(bad("data.live must be true or false.")),
            };
            let rejoin = match data.get("rejoin") {
                None | Some(Value::Null) => None,
                Some(Value::Object(r)) => match (r.get("id"), r.get("token")) {
                    (Some(Value::String(id)), Some(Value::String(token))) => Some(RejoinClaim {
                        id: id.clone(),
                        token: token.clone(),
                    }),
                    _ => return Err(bad(REJOIN_SHAPE)),
                },
                Some(_) => return Err(bad(REJOIN_SHAPE)),
            };
            return Ok(Inbound::Identify { id: id.to_string(), name: clean_name(name), live, rejoin });
        }
        "publish" => {
            let sdp = message
                .get("data")
                .and_then(|d| d.get("sdp"))
                .and_then(Value::as_str)
                .ok_or_else(|| bad("publish needs data.sdp, the send-only offer as a string."))?;
            let meeting = match message.get("data").and_then(|d| d.get("meeting")) {
                None | Some(Value::Null) => false,
                Some(Value::Bool(m)) => *m,
                Some(_) => return Err(bad("data.meeting must be true or false.")),
            };
            let call = match message.get("data").and_then(|d| d.get("call")) {
                None | Some(Value::Null) => None,
                Some(Value::String(c)) => Some(c.clone()),
                Some(_) => return Err(bad("data.call must be the id of the peer of the call.")),
            };
            if meeting && call.is_some() {
                return Err(bad("A publish is for a meeting or for a call, not both."));
            }
            return Ok(Inbound::Publish { sdp: sdp.to_string(), meeting, call });
        }
        "call-relay" => {
            let target = match message.get("data").and_then(|d| d.get("target")) {
                None | Some(Value::Null) => None,
                Some(Value::String(t)) => Some(t.clone()),
                Some(_) => return Err(bad("call-relay needs data.target: the id of the peer of the call, or null to stop.")),
            };
            return Ok(Inbound::CallRelay { target });
        }
        "meeting" => {
            let data = message.get("data").and_then(Value::as_object).ok_or_else(|| {
                bad("meeting needs an object \"data\" with an action: join, leave or update.")
            })?;
            let mut flags = MemberFlags::default();
            for (field, slot) in [
                ("muted", &mut flags.muted),
                ("camera", &mut flags.camera),
                ("screen", &mut flags.screen),
            ] {
                *slot = match data.get(field) {
                    None | Some(Value::Null) => None,
                    Some(Value::Bool(b)) => Some(*b),
                    Some(_) => return Err(bad(&format!("data.{field} must be true or false."))),
                };
            }
            let action = match data.get("action").and_then(Value::as_str) {
                Some("join") => MeetingAction::Join(flags),
                Some("leave") => MeetingAction::Leave,
                Some("update") => MeetingAction::Update(flags),
                Some("view") => {
                    let tiles = data.get("tiles").and_then(Value::as_object).ok_or_else(|| {
                        bad("view needs data.tiles: each member's id with the width of its tile in device pixels.")
                    })?;
                    if tiles.len() > MAX_TILES {
                        return Err(bad(&format!("data.tiles lists more than {MAX_TILES} members.")));
                    }
                    let mut list = Vec::with_capacity(tiles.len());
                    for (id, width) in tiles {
                        match width.as_u64() {
                            Some(w) if w <= MAX_TILE_WIDTH => list.push((id.clone(), w as u32)),
                            _ => return Err(bad(&format!("a tile's width must be a whole number of pixels from 0 to {MAX_TILE_WIDTH}."))),
                        }
                    }
                    MeetingAction::View(list)
                }
                _ => return Err(bad("data.action must be \"join\", \"leave\", \"update\" or \"view\".")),
            };
            return Ok(Inbound::Meeting(action));
        }
        "subscribe" | "unsubscribe" => {
            let data = message.get("data");
            let Some(target) = data.and_then(|d| d.get("target")).and_then(Value::as_str) else {
                return Err(bad(&format!("{kind} needs data.target, the id of a meeting member.")));
            };
            if kind == "unsubscribe" {
                return Ok(Inbound::Unsubscribe { target: target.to_string() });
            }
            let Some(sdp) = data.and_then(|d| d.get("sdp")).and_then(Value::as_str) else {
                return Err(bad("subscribe needs data.sdp, a receive-only offer as a string."));
            };
            return Ok(Inbound::Subscribe { target: target.to_string(), sdp: sdp.to_string() });
        }
        "unpublish" => return Ok(Inbound::Unpublish),
        "ping" => return Ok(Inbound::Ping),
        "pipe" => {
            let data = message.get("data");
            let target = data.and_then(|d| d.get("target")).and_then(Value::as_str);
            let transfer = data.and_then(|d| d.get("transfer")).and_then(Value::as_str);
            let (Some(target), Some(transfer)) = (target, transfer) else {
                return Err(bad("pipe needs data.target (a peer's id) and data.transfer (the transfer's id)."));
            };
            if !is_transfer_id(transfer) {
                return Err(bad(TRANSFER_RULE));
            }
            return Ok(Inbound::Pipe { target: target.to_string(), transfer: transfer.to_string() });
        }
        "offer" => RelayKind::Offer,
        "accept" => RelayKind::Accept,
        "reject" => RelayKind::Reject,
        "icecandidate" => RelayKind::IceCandidate,
        "hangup" => RelayKind::Hangup,
        "watch" => RelayKind::Watch,
        "transfer" => RelayKind::Transfer,
        _ => {
            return Err(ProtocolError::new(
                ErrorCode::UnknownType,
                "Unknown message type; this server accepts identify, offer, accept, reject, icecandidate, hangup, watch, transfer, pipe, publish, unpublish, meeting, subscribe, unsubscribe and call-relay.",
                Some(&kind),
            ))
        }
    };
    let Some(data) = message.get_mut("data").and_then(Value::as_object_mut) else {
        return Err(bad(&format!(
            "{kind} needs an object \"data\" with a target."
        )));
    };
    let Some(Value::String(target)) = data.get("target") else {
        return Err(bad(&format!(
            "{kind} needs data.target, the id of the peer it is for."
        )));
    };
    let target = target.clone();
    match relay_kind {
        RelayKind::Offer | RelayKind::Accept | RelayKind::Watch => {
            if !matches!(data.get("sdp"), Some(Value::String(_))) {
                return Err(bad(&format!(
                    "{kind} needs data.sdp, the session description as a string."
                )));
            }
        }
        RelayKind::Reject => {
            if !matches!(
                data.get("reason"),
                None | Some(Value::Null) | Some(Value::String(_))
            ) {
                return Err(bad(
                    "data.reason must be a string such as \"declined\" or \"busy\".",
                ));
            }
        }
        RelayKind::IceCandidate => {
            if !matches!(
                data.get("candidate"),
                Some(Value::Object(_)) | Some(Value::Null)
            ) {
                return Err(bad("icecandidate needs data.candidate, an object or null."));
            }
        }
        RelayKind::Transfer => {
            if !data
                .get("transfer")
                .and_then(Value::as_str)
                .is_some_and(is_transfer_id)
            {
                return Err(bad(TRANSFER_RULE));
            }
        }
        RelayKind::Hangup => {}
    }
    Ok(Inbound::Relay {
        kind: relay_kind,
        target,
        message,
    })
}

/// What a transfer's id may be.
pub const TRANSFER_RULE: &str =
    "data.transfer must be the transfer's id: 1 to 64 letters, digits, '-' or '_'.";

/// A transfer's id: chosen by the sending page, 1–64 of `[A-Za-z0-9_-]`.
pub fn is_transfer_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `pipe` for one end: the other end's id, the transfer and where to connect.
pub fn pipe(peer: &str, transfer: &str, token: &str) -> String {
    json!({
        "type": "pipe",
        "data": { "peer": peer, "transfer": transfer, "path": format!("{}{token}", crate::pipe::PREFIX) }
    })
    .to_string()
}

/// Stamps the sender's id on a relayed message and serializes it. The
/// client's own `source` (and `id`) are overwritten: the server decides who
/// is who.
pub fn stamp_relay(kind: RelayKind, mut message: Map<String, Value>, sender: &str) -> String {
    if let Some(Value::Object(data)) = message.get_mut("data") {
        data.insert("source".into(), Value::String(sender.to_string()));
        if kind == RelayKind::IceCandidate {
            data.insert("id".into(), Value::String(sender.to_string()));
        }
    }
    Value::Object(message).to_string()
}

/// The `ready` message with everything but the connection's id serialized
/// once, so announcing a new version to N clients costs N string copies, not
/// N JSON serializations.
#[derive(Debug, Clone)]
pub struct ReadyTemplate {
    head: String,
    tail: String,
}

/// What every `ready` carries besides the connection's id.
#[derive(Debug, Clone, Default)]
pub struct ReadyFields {
    pub version: String,
    pub ice_servers: Value,
    /// Present when the server requires a key.
    pub access_key: Option<String>,
    /// The appliance forwards broadcasts (so "Go live" publishes to it).
    pub media: bool,
    /// The best LAN origin for the page's share link and QR code
    /// (`https://192.168.1.20:8443`), whatever address the page was opened at.
    pub lan: Option<String>,
    /// The plain-HTTP landing on that address (`http://192.168.1.20:8443`),
    /// when the server offers one (see `Config::offers_landing`): what the
    /// page shares, so a device that does not trust the authority yet is led
    /// through trusting it instead of landing on a certificate warning.
    pub landing: Option<String>,
}

impl ReadyTemplate {
    /// `changed` only on a live-reload `ready`.
    pub fn new(fields: &ReadyFields, changed: Option<&[String]>) -> ReadyTemplate {
        let mut tail = format!(",\"iceServers\":{}", fields.ice_servers);
        if fields.media {
            tail.push_str(",\"media\":true");
        }
        if let Some(key) = &fields.access_key {
            tail.push_str(&format!(",\"accessKey\":{}", json!(key)));
        }
        if let Some(lan) = &fields.lan {
            tail.push_str(&format!(",\"lan\":{}", json!(lan)));
        }
        if let Some(landing) = &fields.landing {
            tail.push_str(&format!(",\"landing\":{}", json!(landing)));
        }
        if let Some(changed) = changed {
            tail.push_str(&format!(",\"changed\":{}", json!(changed)));
        }
        tail.push('}');
        ReadyTemplate {
            head: format!(
                "{{\"type\":\"ready\",\"version\":{},\"id\":",
                json!(fields.version)
            ),
            tail,
        }
    }

    /// The message for one connection, with its rejoin token. Ids are
    /// UUIDs and tokens URL-safe base64: nothing to escape.
    pub fn for_id(&self, id: &str, rejoin: &str) -> String {
        format!("{}\"{id}\",\"rejoin\":\"{rejoin}\"{}", self.head, self.tail)
    }
}

/// How a live peer's broadcast reaches viewers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Live {
    /// Not live.
    #[default]
    Off,
    /// Each viewer connects to the broadcaster's device (the mesh).
    Direct,
    /// The appliance's media server forwards it.
    Appliance,
    /// A stream published over WHIP: no device behind it, watch only.
    Whip,
}

/// The answer to `ping`: a page's own check that its socket still carries
/// messages both ways (a browser cannot see WebSocket pings).
pub const PONG: &str = r#"{"type":"pong"}"#;

/// A peer announcement (join, rename, going live or off air). `live` is
/// only written when true, so announcements of peers who are not live are
/// exactly those of the original protocol; `via: "appliance"` marks a
/// broadcast the media server serves, and `kind: "whip"` a peer that is a
/// stream and not a device. `was` is the id this peer had before its
/// signaling dropped, when it proved it on rejoining.
pub fn peer(id: &str, name: &str, live: Live, was: Option<&str>) -> String {
    let mut data = json!({ "id": id, "name": name });
    if let Some(was) = was {
        data["was"] = Value::String(was.into());
    }
    if live != Live::Off {
        data["live"] = Value::Bool(true);
    }
    if matches!(live, Live::Appliance | Live::Whip) {
        data["via"] = Value::String("appliance".into());
    }
    if live == Live::Whip {
        data["kind"] = Value::String("whip".into());
    }
    json!({ "type": "peer", "data": data }).to_string()
}

/// The media server's answer to `publish` (`meeting`: to a meeting's).
pub fn published(sdp: &str, meeting: bool) -> String {
    let mut data = json!({ "sdp": sdp, "via": "appliance" });
    if meeting {
        data["meeting"] = Value::Bool(true);
    }
    json!({ "type": "published", "data": data }).to_string()
}

/// The appliance ended a peer's broadcast (or its meeting stream) without
/// being asked: its connection to the media server failed.
pub fn unpublished(reason: &str, meeting: bool) -> String {
    let mut data = json!({ "reason": reason });
    if meeting {
        data["meeting"] = Value::Bool(true);
    }
    json!({ "type": "unpublished", "data": data }).to_string()
}

/// Whether `source`, the other side of a call carried through the
/// appliance, has its stream there (so it can be subscribed to).
pub fn call_relay(source: &str, publishing: bool) -> String {
    json!({ "type": "call-relay", "data": { "source": source, "publishing": publishing } })
        .to_string()
}

/// The media server's answer to `publish` for a call carried through it.
pub fn published_for_call(sdp: &str, partner: &str) -> String {
    json!({ "type": "published", "data": { "sdp": sdp, "via": "appliance", "call": partner } })
        .to_string()
}

/// A call's stream through the appliance ended without being asked.
pub fn unpublished_call(reason: &str) -> String {
    json!({ "type": "unpublished", "data": { "reason": reason, "call": true } }).to_string()
}

/// The media server's answer to `subscribe`: `source`'s stream.
pub fn subscribed(source: &str, sdp: &str) -> String {
    json!({ "type": "subscribed", "data": { "source": source, "sdp": sdp } }).to_string()
}

/// A subscription refused or ended: `reason` is `not-publishing`, `left`,
/// `stopped` (its member stopped sending) or `failed`.
pub fn unsubscribed(source: &str, reason: &str) -> String {
    json!({ "type": "unsubscribed", "data": { "source": source, "reason": reason } }).to_string()
}

/// A message of a broadcast served by the appliance, sent to one of its
/// viewers as if from the broadcaster (`source`), so a viewer's page handles
/// it exactly like the broadcaster's own: `accept` with the answer,
/// `reject` when full, `hangup` when it ends.
pub fn from_appliance(kind: RelayKind, broadcaster: &str, fields: Value) -> String {
    let mut data = json!({ "source": broadcaster, "stream": "broadcaster", "via": "appliance" });
    if let (Value::Object(d), Value::Object(extra)) = (&mut data, fields) {
        d.extend(extra);
    }
    json!({ "type": kind.as_str(), "data": data }).to_string()
}

/// A peer removal.
pub fn peer_removed(id: &str, name: &str) -> String {
    json!({ "type": "peer", "data": { "id": id, "name": name, "remove": true } }).to_string()
}

/// Cleans a display name: drops control and bidirectional-override
/// characters, trims, keeps at most [`MAX_NAME_CHARS`] characters, and
/// falls back to "Anonymous".
pub fn clean_name(raw: &str) -> String {
    let kept: String = raw
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .collect();
    let trimmed: String = kept.trim().chars().take(MAX_NAME_CHARS).collect();
    let trimmed = trimmed.trim_end();
    if trimmed.is_empty() {
        "Anonymous".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Characters that reorder surrounding text, letting a name disguise itself
/// or garble the list it is shown in.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> ErrorCode {
        parse(text).unwrap_err().code
    }

    #[test]
    fn hostile_messages() {
        for (text, want) in [
            ("", ErrorCode::BadJson),
            ("not json", ErrorCode::BadJson),
            ("[1,2]", ErrorCode::BadJson),
            ("\"identify\"", ErrorCode::BadJson),
            ("null", ErrorCode::BadJson),
            ("{}", ErrorCode::BadMessage),
            (r#"{"type":5}"#, ErrorCode::BadMessage),
            (r#"{"type":"dance"}"#, ErrorCode::UnknownType),
            (r#"{"type":"identify"}"#, ErrorCode::BadMessage),
            (r#"{"type":"identify","data":[]}"#, ErrorCode::BadMessage),
            (
                r#"{"type":"identify","data":{"name":"x"}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"identify","data":{"id":1}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"identify","data":{"id":"a","name":{}}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"identify","data":{"id":"a","rejoin":"b"}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"identify","data":{"id":"a","rejoin":{"id":"b"}}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"identify","data":{"id":"a","rejoin":{"id":"b","token":7}}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"offer","data":{"sdp":"x"}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"offer","data":{"target":"t"}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"offer","data":{"target":"t","sdp":7}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"accept","data":{"target":1,"sdp":"x"}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"reject","data":{"target":"t","reason":3}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"icecandidate","data":{"target":"t"}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"icecandidate","data":{"target":"t","candidate":"c"}}"#,
                ErrorCode::BadMessage,
            ),
            (r#"{"type":"hangup"}"#, ErrorCode::BadMessage),
            (r#"{"type":"hangup","data":"t"}"#, ErrorCode::BadMessage),
            (
                r#"{"type":"watch","data":{"target":"t"}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"identify","data":{"id":"a","live":"yes"}}"#,
                ErrorCode::BadMessage,
            ),
            (r#"{"type":"publish"}"#, ErrorCode::BadMessage),
            (
                r#"{"type":"publish","data":{"sdp":1}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"transfer","data":{"target":"t"}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"transfer","data":{"target":"t","transfer":""}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"transfer","data":{"target":"t","transfer":"a/b"}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"pipe","data":{"target":"t"}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"pipe","data":{"transfer":"x"}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"pipe","data":{"target":"t","transfer":7}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"publish","data":{"sdp":"v=0","meeting":"yes"}}"#,
                ErrorCode::BadMessage,
            ),
            (r#"{"type":"meeting"}"#, ErrorCode::BadMessage),
            (r#"{"type":"meeting","data":{}}"#, ErrorCode::BadMessage),
            (
                r#"{"type":"meeting","data":{"action":"dance"}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"meeting","data":{"action":"join","muted":1}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"meeting","data":{"action":"update","camera":"off"}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"subscribe","data":{"target":"t"}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"subscribe","data":{"sdp":"v=0"}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"subscribe","data":{"target":"t","sdp":{}}}"#,
                ErrorCode::BadMessage,
            ),
            (r#"{"type":"unsubscribe"}"#, ErrorCode::BadMessage),
            (
                r#"{"type":"meeting","data":{"action":"view"}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"meeting","data":{"action":"view","tiles":{"a":-1}}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"meeting","data":{"action":"view","tiles":{"a":99999}}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"meeting","data":{"action":"view","tiles":{"a":"wide"}}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"call-relay","data":{"target":5}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"publish","data":{"sdp":"v=0","call":true}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"publish","data":{"sdp":"v=0","call":"x","meeting":true}}"#,
                ErrorCode::BadMessage,
            ),
            (
                r#"{"type":"unsubscribe","data":{"target":3}}"#,
                ErrorCode::BadMessage,
            ),
        ] {
            assert_eq!(code(text), want, "{text}");
        }
    }

    #[test]
    fn valid_messages() {
        assert_eq!(
            parse(r#"{"type":"identify","data":{"id":"a","name":"  Ann\u0007 "}}"#).unwrap(),
            Inbound::Identify {
                id: "a".into(),
                name: "Ann".into(),
                live: false,
                rejoin: None
            }
        );
        assert_eq!(
            parse(r#"{"type":"identify","data":{"id":"a","name":"Ann","rejoin":{"id":"b","token":"t"}}}"#).unwrap(),
            Inbound::Identify {
                id: "a".into(),
                name: "Ann".into(),
                live: false,
                rejoin: Some(RejoinClaim { id: "b".into(), token: "t".into() })
            }
        );
        assert_eq!(
            parse(r#"{"type":"identify","data":{"id":"a","name":"Ann","live":true}}"#).unwrap(),
            Inbound::Identify {
                id: "a".into(),
                name: "Ann".into(),
                live: true,
                rejoin: None
            }
        );
        for text in [
            r#"{"type":"offer","data":{"target":"t","sdp":"v=0","type":"offer"}}"#,
            r#"{"type":"accept","data":{"target":"t","sdp":"v=0"}}"#,
            r#"{"type":"reject","data":{"target":"t"}}"#,
            r#"{"type":"reject","data":{"target":"t","reason":"busy"}}"#,
            r#"{"type":"icecandidate","data":{"target":"t","candidate":null}}"#,
            r#"{"type":"icecandidate","data":{"target":"t","candidate":{"candidate":"c"}}}"#,
            r#"{"type":"hangup","data":{"target":"t"}}"#,
            r#"{"type":"watch","data":{"target":"t","sdp":"v=0"}}"#,
            r#"{"type":"accept","data":{"target":"t","sdp":"v=0","stream":"broadcaster"}}"#,
            r#"{"type":"transfer","data":{"target":"t","transfer":"f-1_A","signal":"offer"}}"#,
        ] {
            assert!(matches!(parse(text), Ok(Inbound::Relay { .. })), "{text}");
        }
        assert_eq!(
            parse(r#"{"type":"pipe","data":{"target":"t","transfer":"f1"}}"#).unwrap(),
            Inbound::Pipe {
                target: "t".into(),
                transfer: "f1".into()
            }
        );
        assert_eq!(parse(r#"{"type":"ping"}"#).unwrap(), Inbound::Ping);
        assert_eq!(
            parse(r#"{"type":"ping","data":{"any":1}}"#).unwrap(),
            Inbound::Ping
        );
        assert!(is_transfer_id(&"a".repeat(64)));
        assert!(!is_transfer_id(&"a".repeat(65)));
        assert_eq!(
            parse(r#"{"type":"meeting","data":{"action":"join","muted":true}}"#).unwrap(),
            Inbound::Meeting(MeetingAction::Join(MemberFlags {
                muted: Some(true),
                camera: None,
                screen: None
            }))
        );
        assert_eq!(
            parse(r#"{"type":"meeting","data":{"action":"leave"}}"#).unwrap(),
            Inbound::Meeting(MeetingAction::Leave)
        );
        assert_eq!(
            parse(r#"{"type":"publish","data":{"sdp":"v=0","meeting":true}}"#).unwrap(),
            Inbound::Publish {
                sdp: "v=0".into(),
                meeting: true,
                call: None
            }
        );
        assert_eq!(
            parse(r#"{"type":"subscribe","data":{"target":"t","sdp":"v=0"}}"#).unwrap(),
            Inbound::Subscribe {
                target: "t".into(),
                sdp: "v=0".into()
            }
        );
    }

    #[test]
    fn stamping_overwrites_source_and_keeps_the_rest() {
        let Ok(Inbound::Relay { kind, message, .. }) = parse(
            r#"{"type":"icecandidate","extra":1,"data":{"target":"t","source":"forged","id":"forged","candidate":{"c":1}}}"#,
        ) else {
            panic!("did not parse")
        };
        let out: Value = serde_json::from_str(&stamp_relay(kind, message, "me")).unwrap();
        assert_eq!(out["data"]["source"], "me");
        assert_eq!(out["data"]["id"], "me");
        assert_eq!(out["data"]["candidate"]["c"], 1);
        assert_eq!(out["extra"], 1);
    }

    #[test]
    fn live_flag_is_written_only_when_live() {
        let plain: Value = serde_json::from_str(&peer("i", "Ann", Live::Off, None)).unwrap();
        assert_eq!(plain, json!({"type":"peer","data":{"id":"i","name":"Ann"}}));
        let live: Value = serde_json::from_str(&peer("i", "Ann", Live::Direct, None)).unwrap();
        assert_eq!(
            live,
            json!({"type":"peer","data":{"id":"i","name":"Ann","live":true}})
        );
        let sfu: Value = serde_json::from_str(&peer("i", "Ann", Live::Appliance, None)).unwrap();
        assert_eq!(sfu["data"]["via"], "appliance");
        assert_eq!(sfu["data"].get("kind"), None);
        let whip: Value = serde_json::from_str(&peer("i", "Cam", Live::Whip, None)).unwrap();
        assert_eq!(whip["data"]["kind"], "whip");
        let back: Value = serde_json::from_str(&peer("i", "Ann", Live::Off, Some("o"))).unwrap();
        assert_eq!(
            back,
            json!({"type":"peer","data":{"id":"i","name":"Ann","was":"o"}})
        );
    }

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name(""), "Anonymous");
        assert_eq!(clean_name(" \t\n "), "Anonymous");
        assert_eq!(clean_name("a\u{202E}b\u{0000}c"), "abc");
        assert_eq!(
            clean_name(&"é".repeat(1000)).chars().count(),
            MAX_NAME_CHARS
        );
        assert_eq!(clean_name("Zoë 🎥"), "Zoë 🎥");
    }

    #[test]
    fn ready_template_is_the_same_json() {
        let ice = json!([{"urls": "stun:a\"b"}]);
        let id = "6f1c2b9e-0000-4000-8000-000000000000";
        let plain_fields = ReadyFields {
            version: "v\"1".into(),
            ice_servers: ice.clone(),
            ..ReadyFields::default()
        };
        let live_fields = ReadyFields {
            version: "v2".into(),
            ice_servers: ice.clone(),
            access_key: Some("k\"ey".into()),
            media: true,
            lan: Some("https://10.0.0.5:8443".into()),
            landing: Some("http://10.0.0.5:8443".into()),
        };
        let plain: Value =
            serde_json::from_str(&ReadyTemplate::new(&plain_fields, None).for_id(id, "t-0_k"))
                .unwrap();
        assert_eq!(
            plain,
            json!({"type":"ready","version":"v\"1","id":id,"rejoin":"t-0_k","iceServers":ice})
        );
        let changed = ["style.css".to_string()];
        let live: Value =
            serde_json::from_str(&ReadyTemplate::new(&live_fields, Some(&changed)).for_id(id, "t"))
                .unwrap();
        assert_eq!(live["changed"], json!(["style.css"]));
        assert_eq!(live["accessKey"], "k\"ey");
        assert_eq!(live["id"], id);
        assert_eq!(live["media"], true);
        assert_eq!(live["lan"], "https://10.0.0.5:8443");
        assert_eq!(live["landing"], "http://10.0.0.5:8443");
        assert_eq!(plain.get("media"), None);
        assert_eq!(plain.get("lan"), None);
        assert_eq!(plain.get("landing"), None);
    }

    #[test]
    fn error_frames() {
        let e = ProtocolError::new(ErrorCode::UnknownTarget, "gone", Some("offer"));
        let v: Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(
            v,
            json!({"type":"error","data":{"code":"unknown-target","message":"gone","ref":"offer"}})
        );
    }
}
