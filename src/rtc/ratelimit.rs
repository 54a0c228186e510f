//! Per-connection rate limiting: a token bucket for messages, and a second,
//! slower bucket of "strikes" that decides when a client that keeps flooding
//! is disconnected rather than merely told to slow down.

use tokio::time::Instant;

/// Seconds of traffic a client may send at once. A call set-up (identify,
/// offer or accept, and a burst of a few dozen ICE candidates) fits easily.
pub const BURST_SECONDS: u32 = 5;
/// Rate-limited messages forgiven before the socket is closed with 1008.
pub const FLOOD_STRIKES: f64 = 50.0;
/// Strikes regained per second: a client that backs off is forgiven.
pub const STRIKE_REFILL_PER_SEC: f64 = 1.0;

/// A classic token bucket, refilled continuously.
#[derive(Debug)]
struct Bucket {
    capacity: f64,
    tokens: f64,
    per_sec: f64,
    last: Instant,
}

impl Bucket {
    fn new(capacity: f64, per_sec: f64, now: Instant) -> Bucket {
        Bucket {
            capacity,
            tokens: capacity,
            per_sec,
            last: now,
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_sec).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// What to do with one incoming message.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Drop it and tell the client.
    Limited,
    /// The client kept flooding: close the socket.
    Flooding,
}

/// The limiter of one connection. `None` inside means "off".
#[derive(Debug)]
pub struct RateLimiter(Option<(Bucket, Bucket)>);

impl RateLimiter {
    /// `per_sec == 0` turns limiting off (benchmarks).
    pub fn new(per_sec: u32) -> RateLimiter {
        if per_sec == 0 {
            return RateLimiter(None);
        }
        let now = Instant::now();
        let per_sec = f64::from(per_sec);
        let messages = Bucket::new(per_sec * f64::from(BURST_SECONDS), per_sec, now);
        let strikes = Bucket::new(FLOOD_STRIKES, STRIKE_REFILL_PER_SEC, now);
        RateLimiter(Some((messages, strikes)))
    }

    pub fn check(&mut self) -> Verdict {
        let Some((messages, strikes)) = &mut self.0 else {
            return Verdict::Allow;
        };
        let now = Instant::now();
        if messages.take(now) {
            Verdict::Allow
        } else if strikes.take(now) {
            Verdict::Limited
        } else {
            Verdict::Flooding
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn burst_then_limit_then_close() {
        let mut limiter = RateLimiter::new(10);
        for i in 0..50 {
            assert_eq!(limiter.check(), Verdict::Allow, "message {i} of the burst");
        }
        assert_eq!(limiter.check(), Verdict::Limited);
        tokio::time::advance(Duration::from_millis(100)).await;
        assert_eq!(
            limiter.check(),
            Verdict::Allow,
            "a token refills after 1/rate s"
        );
        let mut verdicts = Vec::new();
        for _ in 0..100 {
            verdicts.push(limiter.check());
        }
        // 50 strikes in all, one of them spent above.
        let limited = verdicts.iter().filter(|v| **v == Verdict::Limited).count();
        assert_eq!(limited, 49);
        assert_eq!(verdicts.last(), Some(&Verdict::Flooding));
    }

    #[tokio::test(start_paused = true)]
    async fn a_steady_sender_under_the_rate_is_never_limited() {
        let mut limiter = RateLimiter::new(20);
        for _ in 0..1000 {
            assert_eq!(limiter.check(), Verdict::Allow);
            tokio::time::advance(Duration::from_millis(50)).await;
        }
    }

    #[test]
    fn zero_means_off() {
        let mut limiter = RateLimiter::new(0);
        assert!((0..100_000).all(|_| limiter.check() == Verdict::Allow));
    }
}
