//! What the media benchmarks measure on the client side: packets, bytes and
//! loss between two RTP counts, the generator's own CPU, the kernel's UDP
//! drops, percentiles. Each benchmark includes `webrtc_client` beside it.

use std::future::Future;
use std::ops::RangeInclusive;
use std::time::Duration;

use crate::server::{self, PIN};
use crate::webrtc_client::{RtpCount, SeqSpan};

/// A media benchmark's `main`: reads `[--pin] [N ...]` (each N within
/// `allowed`, else `default`), prints `title`, and runs `scenario` for each
/// N on one runtime, at most `limit` each, printing its result (or that it
/// timed out, under `label`).
pub fn run_scenarios<F, Fut>(
    title: &str,
    default: &[usize],
    allowed: RangeInclusive<usize>,
    label: &str,
    limit: Duration,
    scenario: F,
) where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = serde_json::Value>,
{
    if let Some(warning) = lanrtc::server::raise_fd_limit(2_000) {
        eprintln!("warning: {warning}");
    }
    let mut counts = Vec::new();
    for arg in std::env::args().skip(1).filter(|a| a != "--bench") {
        match arg.as_str() {
            "--pin" => PIN.store(true, std::sync::atomic::Ordering::Relaxed),
            n => match n.parse::<usize>() {
                Ok(n) if allowed.contains(&n) => counts.push(n),
                _ => {
                    eprintln!(
                        "unknown argument {n:?}; use: [--pin] [N ...] with N from {} to {}",
                        allowed.start(),
                        allowed.end()
                    );
                    std::process::exit(2);
                }
            },
        }
    }
    if counts.is_empty() {
        counts = default.to_vec();
    }
    if PIN.load(std::sync::atomic::Ordering::Relaxed) {
        server::pin_generator();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("{title}");
    for n in counts {
        match rt.block_on(async { tokio::time::timeout(limit, scenario(n)).await }) {
            Ok(v) => server::report(&v),
            Err(_) => println!("{}", serde_json::json!({ label: n, "error": "timed out" })),
        }
    }
}

/// Received packets, bytes and the fraction lost between two counts.
pub fn window_delta(start: &RtpCount, end: &RtpCount) -> (u64, u64, f64) {
    let mut spans: Vec<(u64, u64)> = end
        .streams
        .iter()
        .map(|(ssrc, e)| {
            let s = start.streams.get(ssrc).copied().unwrap_or(SeqSpan {
                first: e.first,
                highest: e.first.saturating_sub(1),
                received: 0,
            });
            (e.received - s.received, e.highest - s.highest)
        })
        .collect();
    let packets: u64 = spans.iter().map(|(r, _)| r).sum();
    spans.sort_by_key(|(r, _)| std::cmp::Reverse(*r));
    let main = &spans[..spans.len().min(2)];
    let received: u64 = main.iter().map(|(r, _)| r).sum();
    let expected: u64 = main.iter().map(|(_, e)| e).sum();
    let loss = if expected == 0 {
        1.0
    } else {
        1.0 - received.min(expected) as f64 / expected as f64
    };
    (packets, end.bytes - start.bytes, loss)
}

/// Datagrams the kernel dropped for a full receive buffer, machine-wide
/// (`RcvbufErrors` in /proc/net/snmp): on a quiet machine, ours.
pub fn udp_receive_drops() -> u64 {
    let snmp = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let mut lines = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let (Some(names), Some(values)) = (lines.next(), lines.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == "RcvbufErrors")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

pub fn self_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}
