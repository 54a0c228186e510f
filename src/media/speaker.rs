//! Who is speaking in a meeting. Browsers already measure the level of
//! every audio packet they send and put it in an RTP header extension
//! (RFC 6464, "ssrc-audio-level": 0 is full scale, 127 silence), so the
//! appliance only has to compare: phones never analyse fifteen streams.
//!
//! Pure bookkeeping with the levels as input, tested without sockets.

use std::time::Duration;

use uuid::Uuid;

/// How often the loudest member is worked out.
pub const TICK: Duration = Duration::from_millis(300);
/// Quieter than this (in −dBov) is not taken for speech: a voice near a
/// phone's or laptop's microphone measures about 20–45, a quiet room 60 and
/// below.
pub const SPEECH_LEVEL: u8 = 55;
/// Ticks in a row someone else must be the loudest before the highlight
/// moves to them, so a cough or a word in a pause does not flip it.
pub const HOLD_TICKS: u32 = 2;

/// One publisher's levels since the last tick.
#[derive(Debug, Default, Clone)]
pub struct Loudness {
    sum: u32,
    count: u32,
}

impl Loudness {
    /// One packet's level as str0m hands it over: `-(level in −dBov)`.
    pub fn add(&mut self, audio_level: i8) {
        let level = audio_level.unsigned_abs().min(127);
        self.sum += u32::from(127 - level);
        self.count += 1;
    }

    /// The mean level (in −dBov) since the last call, `None` without packets;
    /// starts over.
    pub fn take(&mut self) -> Option<u8> {
        let taken = std::mem::take(self);
        (taken.count > 0).then(|| 127 - (taken.sum / taken.count) as u8)
    }
}

/// The speaker of one meeting.
#[derive(Debug, Default)]
pub struct Speaker {
    current: Option<Uuid>,
    challenger: Option<(Uuid, u32)>,
}

impl Speaker {
    pub fn current(&self) -> Option<Uuid> {
        self.current
    }

    /// One tick: each member's mean level (−dBov; lower is louder). Returns
    /// the new speaker when it changed. Nobody speaking keeps the last
    /// speaker: the big tile of a phone's layout should not flicker away in
    /// every pause.
    pub fn tick(&mut self, levels: &[(Uuid, Option<u8>)]) -> Option<Option<Uuid>> {
        if let Some(current) = self.current {
            if !levels.iter().any(|(id, _)| *id == current) {
                // The speaker left (or stopped publishing).
                self.current = None;
                self.challenger = None;
                return Some(None);
            }
        }
        let loudest = levels
            .iter()
            .filter_map(|(id, level)| level.map(|l| (*id, l)))
            .filter(|(_, l)| *l <= SPEECH_LEVEL)
            .min_by_key(|(_, l)| *l)
            .map(|(id, _)| id);
        let Some(loudest) = loudest else {
            self.challenger = None;
            return None;
        };
        if self.current == Some(loudest) {
            self.challenger = None;
            return None;
        }
        if self.current.is_none() {
            self.current = Some(loudest);
            return Some(self.current);
        }
        let streak = match self.challenger {
            Some((id, n)) if id == loudest => n + 1,
            _ => 1,
        };
        if streak >= HOLD_TICKS {
            self.current = Some(loudest);
            self.challenger = None;
            Some(self.current)
        } else {
            self.challenger = Some((loudest, streak));
            None
        }
    }
}

/// Quieter than this (−dBov) is silence not worth forwarding: a muted
/// microphone sends 127, a quiet room measures 50–70.
pub const GATE_LEVEL: u8 = 80;
/// After the last sound above the gate, audio is still forwarded this long,
/// so pauses between words and the ends of words are not cut.
pub const HANGOVER: Duration = Duration::from_millis(1500);

/// Whether a meeting member's audio is forwarded: not while it is silent
/// (muted, or a silent microphone), which in a large meeting is most
/// members most of the time, and most of the packets the appliance would
/// forward (15 × 50 a second to each member).
#[derive(Debug, Default, Clone)]
pub struct AudioGate {
    last_sound: Option<std::time::Instant>,
}

impl AudioGate {
    /// One packet's level (as str0m hands it over: `-(−dBov)`); whether to
    /// forward it.
    pub fn pass(&mut self, audio_level: i8, now: std::time::Instant) -> bool {
        if audio_level.unsigned_abs() <= GATE_LEVEL {
            self.last_sound = Some(now);
        }
        self.last_sound
            .is_some_and(|t| now.saturating_duration_since(t) < HANGOVER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_is_not_forwarded_but_pauses_between_words_are() {
        let t0 = std::time::Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut gate = AudioGate::default();
        assert!(!gate.pass(-127, at(0)), "a muted microphone");
        assert!(gate.pass(-30, at(20)), "a word");
        assert!(gate.pass(-127, at(800)), "a pause");
        assert!(gate.pass(-65, at(1000)), "a quiet room");
        assert!(
            gate.pass(-127, at(2400)),
            "the hangover after the last sound"
        );
        assert!(!gate.pass(-127, at(2600)), "silence again");
        assert!(!gate.pass(i8::MIN, at(2700)), "out of range is silence");
    }

    #[test]
    fn loudness_is_the_mean_level_per_tick() {
        let mut l = Loudness::default();
        assert_eq!(l.take(), None, "no packets: no level");
        for level in [-20, -40] {
            l.add(level);
        }
        assert_eq!(l.take(), Some(30));
        assert_eq!(l.take(), None, "taken: starts over");
        l.add(-127);
        l.add(i8::MIN); // out of range on the wire: silence, not a panic
        assert_eq!(l.take(), Some(127));
    }

    #[test]
    fn the_highlight_follows_the_loudest_voice_and_holds_through_pauses() {
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let mut s = Speaker::default();
        // Silence, or only a quiet room: nobody is the speaker yet.
        assert_eq!(s.tick(&[(a, Some(127)), (b, Some(70)), (c, None)]), None);
        // The first voice takes it at once.
        assert_eq!(
            s.tick(&[(a, Some(30)), (b, Some(70)), (c, None)]),
            Some(Some(a))
        );
        // A pause keeps it.
        assert_eq!(s.tick(&[(a, Some(127)), (b, Some(127)), (c, None)]), None);
        assert_eq!(s.current(), Some(a));
        // One louder tick from b is not enough (a cough)...
        assert_eq!(s.tick(&[(a, Some(40)), (b, Some(25)), (c, None)]), None);
        assert_eq!(s.tick(&[(a, Some(30)), (b, Some(60)), (c, None)]), None);
        // ...two in a row are.
        assert_eq!(s.tick(&[(a, Some(50)), (b, Some(25)), (c, None)]), None);
        assert_eq!(
            s.tick(&[(a, Some(50)), (b, Some(25)), (c, None)]),
            Some(Some(b))
        );
        // The speaker leaving clears it.
        assert_eq!(s.tick(&[(a, Some(127)), (c, None)]), Some(None));
        assert_eq!(s.current(), None);
    }
}
