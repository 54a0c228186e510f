//! One broadcast: its publisher, its viewers, and when to ask the publisher
//! for a keyframe. Pure bookkeeping with time as an input, so the rules are
//! tested without sockets.

use std::time::{Duration, Instant};

use str0m::media::{MediaKind, Mid};
use uuid::Uuid;

use super::layers::Rates;
use super::speaker::{AudioGate, Loudness};
use crate::rtc::Room;

/// A broadcast is one peer's stream in one room.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BroadcastKey {
    pub room: Room,
    pub peer: Uuid,
}

/// Keyframes are expensive (5–10× a delta frame), and every viewer that
/// joins, loses packets or starts decoding asks for one. At most one request
/// per interval reaches the publisher; requests in between are remembered
/// and sent when the interval ends, so a late joiner waits at most this long
/// plus one frame.
pub const KEYFRAME_INTERVAL: Duration = Duration::from_secs(1);

/// A request that no keyframe has answered yet (the request or the keyframe
/// was lost: a lossy link, a flooded socket) is repeated this soon instead
/// of a whole interval later. Browsers answer a PLI within a frame or two
/// plus the round trip, so this is well past a timely answer.
pub const KEYFRAME_RETRY: Duration = Duration::from_millis(300);

/// Coalesces keyframe requests (see [`KEYFRAME_INTERVAL`]).
#[derive(Debug, Default)]
pub struct KeyframeGate {
    last_sent: Option<Instant>,
    pending: bool,
    /// A keyframe arrived since the last request went out.
    answered: bool,
}

impl KeyframeGate {
    /// Someone wants a keyframe. Returns true when the request should go to
    /// the publisher now; otherwise it is kept for [`KeyframeGate::due`].
    pub fn request(&mut self, now: Instant) -> bool {
        match self.next_allowed() {
            Some(t) if now < t => {
                self.pending = true;
                false
            }
            _ => {
                self.last_sent = Some(now);
                self.pending = false;
                self.answered = false;
                true
            }
        }
    }

    /// When the next request may go out.
    fn next_allowed(&self) -> Option<Instant> {
        let wait = if self.answered {
            KEYFRAME_INTERVAL
        } else {
            KEYFRAME_RETRY
        };
        self.last_sent.map(|t| t + wait)
    }

    /// A request held back earlier whose time has come.
    pub fn due(&mut self, now: Instant) -> bool {
        self.pending && self.request(now)
    }

    /// When a held-back request becomes due, if one is held.
    pub fn next_due(&self) -> Option<Instant> {
        if self.pending {
            self.next_allowed()
        } else {
            None
        }
    }

    /// A keyframe arrived: requests still held are satisfied by it.
    pub fn keyframe_seen(&mut self) {
        self.pending = false;
        self.answered = true;
    }
}

/// One publisher's stream and who watches it.
#[derive(Debug)]
pub struct Broadcast {
    pub key: BroadcastKey,
    pub publisher: Uuid,
    pub viewers: Vec<Uuid>,
    /// The publisher's incoming tracks.
    pub tracks: Vec<(Mid, MediaKind)>,
    pub keyframes: KeyframeGate,
    pub started: Instant,
    /// A meeting member's stream: watched only by the other members, never
    /// listed as a live stream (WHEP's "newest broadcast" skips it).
    pub meeting: bool,
    /// Whether its audio counts for the room meeting's active speaker (a
    /// call carried through the appliance is private, but no meeting).
    pub speakers: bool,
    /// Its audio levels since the last speaker tick (meetings only).
    pub loudness: Loudness,
    /// Its video's simulcast layers and their bitrates.
    pub rates: Rates,
    /// Whether its audio is sounding (meetings only).
    pub gate: AudioGate,
}

/// What a publisher's stream is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Going live (app or WHIP): listed, watched by anyone in the room.
    Live,
    /// A member's stream in the room's meeting.
    Meeting,
    /// One side of a 1:1 call carried through the appliance.
    Call,
}

impl Broadcast {
    pub fn new(key: BroadcastKey, publisher: Uuid, now: Instant, purpose: Purpose) -> Broadcast {
        Broadcast {
            key,
            publisher,
            viewers: Vec::new(),
            tracks: Vec::new(),
            keyframes: KeyframeGate::default(),
            started: now,
            meeting: purpose != Purpose::Live,
            speakers: purpose == Purpose::Meeting,
            loudness: Loudness::default(),
            rates: Rates::default(),
            gate: AudioGate::default(),
        }
    }

    pub fn kind_of(&self, mid: Mid) -> Option<MediaKind> {
        self.tracks.iter().find(|(m, _)| *m == mid).map(|(_, k)| *k)
    }

    pub fn video_mids(&self) -> impl Iterator<Item = Mid> + '_ {
        self.tracks
            .iter()
            .filter(|(_, k)| *k == MediaKind::Video)
            .map(|(m, _)| *m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answered_requests_are_coalesced_to_one_per_interval() {
        let t0 = Instant::now();
        let mut gate = KeyframeGate::default();
        assert!(gate.request(t0), "the first request goes at once");
        gate.keyframe_seen();
        // A burst of joiners within the interval: none goes now...
        for ms in [1, 10, 500, 999] {
            assert!(!gate.request(t0 + Duration::from_millis(ms)));
        }
        // ...but one is remembered and due when the interval ends.
        assert_eq!(gate.next_due(), Some(t0 + KEYFRAME_INTERVAL));
        assert!(!gate.due(t0 + Duration::from_millis(999)));
        assert!(gate.due(t0 + KEYFRAME_INTERVAL));
        assert!(
            !gate.due(t0 + KEYFRAME_INTERVAL * 3),
            "sent once, not again"
        );
        assert_eq!(gate.next_due(), None);
    }

    #[test]
    fn a_keyframe_satisfies_held_requests() {
        let t0 = Instant::now();
        let mut gate = KeyframeGate::default();
        assert!(gate.request(t0));
        assert!(!gate.request(t0 + Duration::from_millis(100)));
        gate.keyframe_seen();
        assert!(!gate.due(t0 + KEYFRAME_INTERVAL));
        assert!(
            gate.request(t0 + KEYFRAME_INTERVAL),
            "a new request later goes at once"
        );
    }

    #[test]
    fn an_unanswered_request_is_repeated_sooner() {
        let t0 = Instant::now();
        let mut gate = KeyframeGate::default();
        assert!(gate.request(t0));
        // No keyframe came (lost on the way there or back): the viewers'
        // next asks are held only for the retry delay, not the interval.
        assert!(!gate.request(t0 + Duration::from_millis(100)));
        assert_eq!(gate.next_due(), Some(t0 + KEYFRAME_RETRY));
        assert!(gate.due(t0 + KEYFRAME_RETRY));
        // Still nothing, and again.
        assert!(!gate.request(t0 + KEYFRAME_RETRY + Duration::from_millis(1)));
        assert!(gate.due(t0 + KEYFRAME_RETRY * 2));
        // Answered at last: back to one per interval.
        gate.keyframe_seen();
        let last = t0 + KEYFRAME_RETRY * 2;
        assert!(!gate.request(last + KEYFRAME_RETRY));
        assert_eq!(gate.next_due(), Some(last + KEYFRAME_INTERVAL));
    }
}
