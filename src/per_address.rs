//! Limits per source address, so one misbehaving host (a crashed app in a
//! reconnect loop, a scanner, a flood) cannot take what every other device
//! needs: open TCP connections, TLS handshakes in progress, and signaling
//! connections (of which it may hold at most half of `MAX_PEERS`, so there
//! is always room for another device).
//!
//! Each admission is a guard; dropping it gives the place back. The map is
//! behind a std mutex held for a lookup at a time, and an address leaves the
//! map with its last guard, so it costs nothing for hosts that are gone.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// What is limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    Connections = 0,
    Handshakes = 1,
    Peers = 2,
}

/// The limits (0 = none) and the counts per address.
pub struct PerAddress {
    max: [usize; 3],
    counts: Mutex<HashMap<IpAddr, [usize; 3]>>,
}

/// A place taken; dropping it gives it back.
pub struct Guard {
    /// `None` when `what` is not limited: nothing to give back.
    owner: Option<Arc<PerAddress>>,
    ip: IpAddr,
    what: What,
}

impl PerAddress {
    /// `peers` is capped at half of `max_peers` (at least one).
    pub fn new(
        connections: usize,
        handshakes: usize,
        peers: usize,
        max_peers: usize,
    ) -> Arc<PerAddress> {
        let half = max_peers.div_ceil(2).max(1);
        let peers = if peers == 0 { half } else { peers.min(half) };
        Arc::new(PerAddress {
            max: [connections, handshakes, peers],
            counts: Mutex::new(HashMap::new()),
        })
    }

    /// Takes a place for `ip`, or `None` when it holds as many as allowed.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, what: What) -> Option<Guard> {
        let max = self.max[what as usize];
        let ip = canonical(ip);
        if max == 0 {
            return Some(Guard {
                owner: None,
                ip,
                what,
            });
        }
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let entry = counts.entry(ip).or_default();
        if entry[what as usize] >= max {
            if entry.iter().all(|n| *n == 0) {
                counts.remove(&ip);
            }
            return None;
        }
        entry[what as usize] += 1;
        Some(Guard {
            owner: Some(self.clone()),
            ip,
            what,
        })
    }

    fn release(&self, ip: IpAddr, what: What) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = counts.get_mut(&ip) {
            entry[what as usize] = entry[what as usize].saturating_sub(1);
            if entry.iter().all(|n| *n == 0) {
                counts.remove(&ip);
            }
        }
    }

    /// How many `what` the address holds now.
    pub fn held(&self, ip: IpAddr, what: What) -> usize {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.get(&canonical(ip)).map_or(0, |c| c[what as usize])
    }

    pub fn max(&self, what: What) -> usize {
        self.max[what as usize]
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(owner) = &self.owner {
            owner.release(self.ip, self.what);
        }
    }
}

/// An IPv4 client of a dual-stack socket shows up as `::ffff:a.b.c.d`; it is
/// the same host as `a.b.c.d`.
fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_is_capped_and_others_are_not() {
        let limits = PerAddress::new(2, 0, 0, 10);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = limits.admit(a, What::Connections).unwrap();
        let _second = limits.admit(a, What::Connections).unwrap();
        assert!(limits.admit(a, What::Connections).is_none());
        assert!(limits
            .admit("::ffff:10.0.0.1".parse().unwrap(), What::Connections)
            .is_none());
        assert!(limits.admit(b, What::Connections).is_some());
        drop(first);
        assert!(
            limits.admit(a, What::Connections).is_some(),
            "a freed place is free again"
        );
    }

    #[test]
    fn one_address_may_hold_at_most_half_of_max_peers() {
        let limits = PerAddress::new(0, 0, 1000, 7);
        assert_eq!(limits.max(What::Peers), 4);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let held: Vec<_> = (0..10)
            .filter_map(|_| limits.admit(a, What::Peers))
            .collect();
        assert_eq!(held.len(), 4);
        assert_eq!(PerAddress::new(0, 0, 0, 1).max(What::Peers), 1);
        drop(held);
        assert_eq!(limits.held(a, What::Peers), 0);
        assert!(
            limits.counts.lock().unwrap().is_empty(),
            "a gone host leaves no entry"
        );
    }
}
