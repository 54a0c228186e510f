//! Simulcast: a publisher may send its video in several layers (RTP stream
//! ids, e.g. 180p, 360p, 720p); each viewer is forwarded exactly one, the
//! best its estimated bandwidth carries. Pure bookkeeping with time and the
//! estimate as inputs, so the rules are tested without sockets:
//! - each layer's bitrate is measured from what arrives ([`Rates`]);
//! - a layer not seen for [`STALE`] is not offered (a browser stops its top
//!   layer when its own uplink is short);
//! - each viewer starts at the top, steps down while its receiver reports
//!   say its link is congested (loss, a growing round trip), and tries one
//!   step up after a clear spell, backing off when the try fails
//!   ([`Ladder`]). (str0m's delay-based estimate was tried first: on this
//!   2-core test machine it read 65–940 kbit/s for an unthrottled viewer,
//!   the same as for one behind a 600 kbit/s bottleneck, because CPU
//!   starvation delays every packet; loss and round trip told them apart.)
//! - the switch itself happens in the session, on a keyframe of the new
//!   layer, so nobody sees a broken picture.

use std::time::{Duration, Instant};

use str0m::media::Rid;

/// How often the layers are chosen.
pub const CHOOSE_EVERY: Duration = Duration::from_millis(500);
/// The window a layer's bitrate is measured over.
const RATE_WINDOW: Duration = Duration::from_secs(1);
/// A layer silent this long is gone for now.
pub const STALE: Duration = Duration::from_millis(1500);

#[derive(Debug, Clone)]
struct Layer {
    rid: Rid,
    /// Bytes in the window being filled and when it started.
    bytes: u64,
    since: Instant,
    /// The last full window's bitrate, bits per second.
    bitrate: f64,
    /// Its picture's width, from its last keyframe (VP8).
    width: Option<u16>,
    last_seen: Instant,
}

/// The layers of one publisher's video and their bitrates.
#[derive(Debug, Default, Clone)]
pub struct Rates {
    layers: Vec<Layer>,
}

impl Rates {
    /// A frame of `bytes` on layer `rid` arrived.
    pub fn add(&mut self, rid: Rid, bytes: usize, width: Option<u16>, now: Instant) {
        let layer = match self.layers.iter_mut().position(|l| l.rid == rid) {
            Some(i) => &mut self.layers[i],
            None => {
                self.layers.push(Layer {
                    rid,
                    bytes: 0,
                    since: now,
                    bitrate: 0.0,
                    width: None,
                    last_seen: now,
                });
                self.layers.last_mut().expect("just pushed")
            }
        };
        let elapsed = now.saturating_duration_since(layer.since);
        if elapsed >= RATE_WINDOW {
            layer.bitrate = layer.bytes as f64 * 8.0 / elapsed.as_secs_f64();
            layer.bytes = 0;
            layer.since = now;
        }
        layer.bytes += bytes as u64;
        layer.last_seen = now;
        if width.is_some() {
            layer.width = width;
        }
    }

    /// Whether the publisher sends more than one layer.
    pub fn is_simulcast(&self) -> bool {
        self.layers.len() > 1
    }

    /// The layers seen lately, lowest bitrate first. A layer measured as 0
    /// so far (its first second) sorts by the order it arrived in.
    fn live(&self, now: Instant) -> Vec<(Rid, f64)> {
        let mut live: Vec<(Rid, f64)> = self
            .layers
            .iter()
            .filter(|l| now.saturating_duration_since(l.last_seen) < STALE)
            .map(|l| (l.rid, l.bitrate))
            .collect();
        live.sort_by(|a, b| a.1.total_cmp(&b.1));
        live
    }

    /// Each live layer and its bitrate, for logs.
    pub fn summary(&self, now: Instant) -> Vec<(String, u64)> {
        self.live(now)
            .into_iter()
            .map(|(rid, b)| (rid.to_string(), b as u64))
            .collect()
    }

    /// The top layer's bitrate: what a viewer's estimate is asked to probe for.
    pub fn top_bitrate(&self, now: Instant) -> Option<f64> {
        self.live(now).last().map(|(_, b)| *b)
    }

    /// The live layers, lowest first.
    pub fn ladder(&self, now: Instant) -> Vec<Rid> {
        self.live(now).into_iter().map(|(rid, _)| rid).collect()
    }

    /// The live layers a tile `tile_width` pixels wide can use: up to the
    /// smallest that is at least as wide (a larger one would be scaled down
    /// on the screen: bandwidth and decoding for nothing). Layers of unknown
    /// width (before their first keyframe, or not VP8) are kept.
    pub fn ladder_for(&self, tile_width: Option<u32>, now: Instant) -> Vec<Rid> {
        let live = self.live(now);
        let Some(tile) = tile_width else {
            return live.into_iter().map(|(rid, _)| rid).collect();
        };
        let width = |rid: Rid| {
            self.layers
                .iter()
                .find(|l| l.rid == rid)
                .and_then(|l| l.width)
        };
        let mut out = Vec::new();
        for (rid, _) in live {
            out.push(rid);
            if width(rid).is_some_and(|w| u32::from(w) >= tile) {
                break;
            }
        }
        out
    }
}

/// How a viewer's link did over the last report (from its RTCP receiver
/// reports: the share of our packets it lost, and the round trip).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Losing packets or queueing: what it gets is more than its link carries.
    Congested,
    /// No loss to speak of and a short round trip.
    Clear,
    /// In between, or no report yet.
    Unknown,
}

impl Health {
    /// Loss over 8 % or a round trip over 300 ms is congestion; under 2 %
    /// and 150 ms is clear. (A LAN's round trip is a few milliseconds; a
    /// bottleneck's queue adds hundreds before it drops.)
    pub fn from_report(loss: Option<f32>, rtt: Option<Duration>) -> Health {
        let loss = loss.unwrap_or(0.0);
        let rtt = rtt.unwrap_or_default();
        if loss > 0.08 || rtt > Duration::from_millis(300) {
            Health::Congested
        } else if loss < 0.02 && rtt < Duration::from_millis(150) {
            Health::Clear
        } else {
            Health::Unknown
        }
    }
}

/// After a move, another move waits this long (its effect must show first).
pub const SETTLE: Duration = Duration::from_secs(2);
/// A clear link this long earns a try of the next layer up...
pub const UP_AFTER: Duration = Duration::from_secs(6);
/// ...and a try that congested doubles the wait, up to this.
pub const UP_AFTER_MAX: Duration = Duration::from_secs(60);

/// One viewer's layer: starts at the top, steps down while its link is
/// congested, and tries one step up after a clear spell (backing off when
/// the try does not hold), the way a browser's own encoder adapts.
#[derive(Debug, Clone)]
pub struct Ladder {
    last_move: Option<Instant>,
    clear_since: Option<Instant>,
    up_after: Duration,
    /// When the last step up was taken, to tell a failed try.
    tried_up: Option<Instant>,
    /// Whether the first choice was made (it is the top, whatever layer
    /// happened to bring the first keyframe).
    started: bool,
    /// The viewer was on the highest layer its tile allowed: held there by
    /// the tile's size, not by its link.
    at_ceiling: bool,
}

impl Default for Ladder {
    fn default() -> Self {
        Ladder {
            last_move: None,
            clear_since: None,
            up_after: UP_AFTER,
            tried_up: None,
            started: false,
            at_ceiling: false,
        }
    }
}

impl Ladder {
    /// The layer to forward next, given the live layers (lowest first),
    /// the one forwarded now and the link's health since the last call.
    pub fn next(
        &mut self,
        live: &[Rid],
        current: Option<Rid>,
        health: Health,
        now: Instant,
    ) -> Option<Rid> {
        let top = *live.last()?;
        let Some(current) = current.filter(|_| self.started) else {
            self.started = true;
            return Some(top);
        };
        let Some(at) = live.iter().position(|r| *r == current) else {
            // Its layer stopped (the publisher's browser pauses its top one
            // when short of CPU or uplink): the top of what is left, or the
            // bottom for a link that is congested anyway.
            self.last_move = Some(now);
            return Some(if health == Health::Congested {
                live[0]
            } else {
                top
            });
        };
        let settled = self
            .last_move
            .is_none_or(|t| now.saturating_duration_since(t) >= SETTLE);
        let was_at_ceiling = std::mem::replace(&mut self.at_ceiling, at + 1 == live.len());
        // Its tile grew (pinned, a larger layout): what held it back was the
        // tile, not the link, so it goes up at once.
        if was_at_ceiling && at + 1 < live.len() && health != Health::Congested {
            self.last_move = Some(now);
            // Still climbing to the new ceiling on the next turn.
            self.at_ceiling = true;
            return Some(live[at + 1]);
        }
        match health {
            Health::Congested => {
                self.clear_since = None;
                if let Some(t) = self.tried_up.take() {
                    if now.saturating_duration_since(t) < self.up_after * 2 {
                        self.up_after = (self.up_after * 2).min(UP_AFTER_MAX);
                    }
                }
                if settled && at > 0 {
                    self.last_move = Some(now);
                    return Some(live[at - 1]);
                }
            }
            Health::Clear => {
                let since = *self.clear_since.get_or_insert(now);
                if settled
                    && at + 1 < live.len()
                    && now.saturating_duration_since(since) >= self.up_after
                {
                    self.last_move = Some(now);
                    self.clear_since = None;
                    self.tried_up = Some(now);
                    return Some(live[at + 1]);
                }
                // A try that held for a long while resets the back-off.
                if self
                    .tried_up
                    .is_some_and(|t| now.saturating_duration_since(t) >= UP_AFTER_MAX)
                {
                    self.tried_up = None;
                    self.up_after = UP_AFTER;
                }
            }
            Health::Unknown => {}
        }
        Some(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `secs` of three layers at 150 kbit/s, 500 kbit/s and 1.5 Mbit/s.
    fn three_layers(rates: &mut Rates, t0: Instant, secs: u64) -> Instant {
        let mut t = t0;
        for frame in 0..secs * 30 {
            t = t0 + Duration::from_millis(frame * 1000 / 30);
            for (rid, kbps, width) in [("q", 150, 320), ("h", 500, 640), ("f", 1500, 1280)] {
                rates.add(Rid::from(rid), kbps * 1000 / 8 / 30, Some(width), t);
            }
        }
        t
    }

    #[test]
    fn the_ladder_starts_at_the_top_steps_down_on_congestion_and_tries_up_after_a_clear_spell() {
        let mut rates = Rates::default();
        let t0 = three_layers(&mut rates, Instant::now(), 3);
        let live = rates.ladder(t0);
        let (q, h, f) = (Rid::from("q"), Rid::from("h"), Rid::from("f"));
        assert_eq!(live, vec![q, h, f], "lowest bitrate first");
        assert!(rates.is_simulcast());
        let mut l = Ladder::default();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert_eq!(
            l.next(&live, None, Health::Unknown, at(0)),
            Some(f),
            "the top first"
        );
        // Congested: one step down, then it settles before the next.
        assert_eq!(l.next(&live, Some(f), Health::Congested, at(1000)), Some(h));
        assert_eq!(l.next(&live, Some(h), Health::Congested, at(2000)), Some(h));
        assert_eq!(l.next(&live, Some(h), Health::Congested, at(3000)), Some(q));
        assert_eq!(
            l.next(&live, Some(q), Health::Congested, at(6000)),
            Some(q),
            "nothing lower"
        );
        // Clear for UP_AFTER: one step up.
        let clear_from = 7000;
        assert_eq!(
            l.next(&live, Some(q), Health::Clear, at(clear_from)),
            Some(q)
        );
        assert_eq!(
            l.next(&live, Some(q), Health::Clear, at(clear_from + 5000)),
            Some(q)
        );
        assert_eq!(
            l.next(&live, Some(q), Health::Clear, at(clear_from + 6000)),
            Some(h)
        );
        // The try congests at once: back down, and the next try waits twice as long.
        assert_eq!(
            l.next(&live, Some(h), Health::Congested, at(clear_from + 8000)),
            Some(q)
        );
        let again = clear_from + 9000;
        assert_eq!(l.next(&live, Some(q), Health::Clear, at(again)), Some(q));
        assert_eq!(
            l.next(&live, Some(q), Health::Clear, at(again + 6000)),
            Some(q)
        );
        assert_eq!(
            l.next(&live, Some(q), Health::Clear, at(again + 12000)),
            Some(h)
        );
        // A layer that is gone: the top of what is left, or for a congested
        // link the bottom.
        assert_eq!(
            l.next(&[q, h], Some(f), Health::Unknown, at(40000)),
            Some(h)
        );
        assert_eq!(
            l.next(&[q, h], Some(f), Health::Congested, at(40000)),
            Some(q)
        );
        assert_eq!(l.next(&[], Some(f), Health::Unknown, at(40000)), None);
    }

    #[test]
    fn a_tile_gets_no_layer_wider_than_it_needs() {
        let mut rates = Rates::default();
        let now = three_layers(&mut rates, Instant::now(), 3);
        let (q, h, f) = (Rid::from("q"), Rid::from("h"), Rid::from("f"));
        assert_eq!(
            rates.ladder_for(None, now),
            vec![q, h, f],
            "no size said: all"
        );
        assert_eq!(rates.ladder_for(Some(2000), now), vec![q, h, f]);
        assert_eq!(rates.ladder_for(Some(1280), now), vec![q, h, f]);
        assert_eq!(
            rates.ladder_for(Some(600), now),
            vec![q, h],
            "a 600 px tile: up to 640"
        );
        assert_eq!(rates.ladder_for(Some(180), now), vec![q], "a phone's strip");
        assert_eq!(
            rates.ladder_for(Some(0), now),
            vec![q],
            "hidden: the lowest"
        );
    }

    #[test]
    fn a_tile_that_grows_gets_the_next_layer_at_once() {
        let mut rates = Rates::default();
        let t0 = three_layers(&mut rates, Instant::now(), 3);
        let (q, h, f) = (Rid::from("q"), Rid::from("h"), Rid::from("f"));
        let mut l = Ladder::default();
        let small = rates.ladder_for(Some(300), t0);
        assert_eq!(l.next(&small, None, Health::Clear, t0), Some(q));
        assert_eq!(l.next(&small, Some(q), Health::Clear, t0), Some(q));
        // Pinned: the tile is 1280 wide now; no clear spell to wait for.
        let large = rates.ladder_for(Some(1280), t0);
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(l.next(&large, Some(q), Health::Clear, t1), Some(h));
        assert_eq!(
            l.next(
                &large,
                Some(h),
                Health::Clear,
                t1 + Duration::from_millis(500)
            ),
            Some(f)
        );
        // But not on a congested link.
        let mut m = Ladder::default();
        assert_eq!(m.next(&small, None, Health::Clear, t0), Some(q));
        assert_eq!(m.next(&small, Some(q), Health::Clear, t0), Some(q));
        assert_eq!(m.next(&large, Some(q), Health::Congested, t1), Some(q));
    }

    #[test]
    fn health_from_receiver_reports() {
        let ms = Duration::from_millis;
        assert_eq!(Health::from_report(Some(0.0), Some(ms(5))), Health::Clear);
        assert_eq!(Health::from_report(None, None), Health::Clear);
        assert_eq!(
            Health::from_report(Some(0.2), Some(ms(5))),
            Health::Congested
        );
        assert_eq!(
            Health::from_report(Some(0.0), Some(ms(400))),
            Health::Congested
        );
        assert_eq!(
            Health::from_report(Some(0.05), Some(ms(5))),
            Health::Unknown
        );
    }

    #[test]
    fn a_layer_that_stops_is_not_offered() {
        let mut rates = Rates::default();
        let t0 = Instant::now();
        let now = three_layers(&mut rates, t0, 2);
        // Only the two lower layers go on.
        let mut t = now;
        for frame in 0..60 {
            t = now + Duration::from_millis(frame * 1000 / 30);
            rates.add(Rid::from("q"), 625, None, t);
            rates.add(Rid::from("h"), 2083, None, t);
        }
        assert_eq!(rates.ladder(t), vec![Rid::from("q"), Rid::from("h")]);
        let top = rates.top_bitrate(t).unwrap();
        assert!((400e3..600e3).contains(&top), "{top}");
        assert!(Rates::default().ladder(t).is_empty());
    }
}
