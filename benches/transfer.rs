//! File-transfer benchmark: two headless Chromiums in a private network
//! namespace send a generated file (256 MiB by default) through the app —
//! picked in "Send files", accepted, read in slices, hashed, written to the
//! receiver's disk and verified — and, in the same run and interleaved with
//! it, a bare page pair (benches/transfer/bare.js) that only pushes a data
//! channel as fast as it goes with the same piece size and flow control:
//! the ceiling. Reports MB/s, each browser's CPU time (all its processes)
//! and the receiver's memory (PSS of all its processes) at the start, the
//! peak and the end.
//!
//! It measures and asserts nothing about time. Needs root (a namespace),
//! chromium and chromium-driver. Usage:
//!   cargo bench --bench transfer               # 256 MiB, 3 runs of each
//!   cargo bench --bench transfer -- 64 5       # 64 MiB, 5 runs

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/e2e/mod.rs"]
mod e2e;
#[path = "../tests/netns/mod.rs"]
mod netns;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use e2e::Browser;
use fantoccini::Locator;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let mib: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(256);
    let runs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    if std::env::var_os(netns::INNER_ENV).is_some() {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(inner(mib, runs));
        return;
    }
    if let Err(why) = e2e::prerequisites() {
        eprintln!("the transfer benchmark cannot run here: {why}");
        std::process::exit(1);
    }
    let ns = netns::Netns::create("bench-files");
    ns.veth_inside(e2e::SERVER_ADDR, e2e::PEER_ADDR);
    let status = Command::new("ip")
        .args(["netns", "exec", &ns.name])
        .arg(std::env::current_exe().unwrap())
        .args([mib.to_string(), runs.to_string()])
        .env(netns::INNER_ENV, "1")
        .status()
        .unwrap();
    drop(ns);
    std::process::exit(status.code().unwrap_or(1));
}

/// CPU seconds (user + system) and memory (PSS: shared pages counted once
/// across the processes that share them) of every process in `pgid`.
fn usage(pgid: u32) -> (f64, u64) {
    let tick = 100.0; // USER_HZ on Linux
    let (mut cpu, mut rss) = (0.0, 0);
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the command name, which is in parentheses.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.len() < 22 || f[2].parse::<u32>().ok() != Some(pgid) {
            continue;
        }
        let utime: f64 = f[11].parse().unwrap_or(0.0);
        let stime: f64 = f[12].parse().unwrap_or(0.0);
        cpu += (utime + stime) / tick;
        let rollup = std::fs::read_to_string(entry.path().join("smaps_rollup")).unwrap_or_default();
        let pss_kib = rollup
            .lines()
            .find_map(|l| l.strip_prefix("Pss:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0);
        rss += pss_kib * 1024;
    }
    (cpu, rss)
}

struct Sample {
    seconds: f64,
    sender_cpu: f64,
    receiver_cpu: f64,
    rss_start: u64,
    rss_peak: u64,
    rss_end: u64,
}

/// Polls `done` (a JS expression) on `receiver` while sampling both
/// browsers; the clock starts now.
async fn measure(sender: &Browser, receiver: &Browser, done: &str) -> Sample {
    let (s0, _) = usage(sender.pgid());
    let (r0, rss_start) = usage(receiver.pgid());
    let started = Instant::now();
    let mut rss_peak = rss_start;
    loop {
        if receiver.js(&format!("return !!({done});")).await == serde_json::Value::Bool(true) {
            break;
        }
        rss_peak = rss_peak.max(usage(receiver.pgid()).1);
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "no end after 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let (s1, _) = usage(sender.pgid());
    let (r1, rss_end) = usage(receiver.pgid());
    Sample {
        seconds,
        sender_cpu: s1 - s0,
        receiver_cpu: r1 - r0,
        rss_start,
        rss_peak: rss_peak.max(rss_end),
        rss_end,
    }
}

async fn bare(origin: &str, root: &Path, ca: &Path, bytes: usize) -> Sample {
    let (sender, receiver) = tokio::join!(
        Browser::launch("bare-send", root, ca),
        Browser::launch("bare-receive", root, ca)
    );
    receiver
        .client
        .goto(&format!("{origin}/bench/bare.html?role=receive"))
        .await
        .unwrap();
    receiver
        .wait_for(
            "the receiver",
            "document.getElementById('state').textContent === 'starting'",
        )
        .await;
    sender
        .client
        .goto(&format!(
            "{origin}/bench/bare.html?role=send&to=bare-receive&bytes={bytes}"
        ))
        .await
        .unwrap();
    sender
        .wait_for_within(
            "the channel",
            "document.getElementById('state').textContent !== 'starting'",
            Duration::from_secs(30),
        )
        .await;
    let sample = measure(&sender, &receiver, &format!("window.received >= {bytes}")).await;
    sender.quit().await;
    receiver.quit().await;
    sample
}

async fn app(origin: &str, root: &Path, ca: &Path, file: &Path) -> Sample {
    let (sender, receiver) = tokio::join!(
        Browser::launch("app-send", root, ca),
        Browser::launch("app-receive", root, ca)
    );
    for (b, name) in [(&sender, "Sender"), (&receiver, "Receiver")] {
        b.client.goto(&format!("{origin}/")).await.unwrap();
        b.fill("Your name", name).await;
    }
    sender.press("Send files to Receiver").await;
    sender
        .client
        .find(Locator::Id("file-input"))
        .await
        .unwrap()
        .send_keys(&file.display().to_string())
        .await
        .unwrap();
    receiver.press("Accept the files from Sender").await;
    let sample = measure(
        &sender,
        &receiver,
        "window.lanrtc.transfers[0] && window.lanrtc.transfers[0].state === 'done'",
    )
    .await;
    let via = receiver.js("return window.lanrtc.transfers[0].via;").await;
    assert_eq!(via, "direct", "the transfer did not go directly");
    sender.quit().await;
    receiver.quit().await;
    sample
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn report(what: &str, bytes: usize, samples: &[Sample]) {
    let mbs: Vec<f64> = samples
        .iter()
        .map(|s| bytes as f64 / 1e6 / s.seconds)
        .collect();
    let mb = |b: u64| b as f64 / 1e6;
    println!(
        "{what:<22} {:>6.1} MB/s (runs: {})  sender CPU {:>5.1} s  receiver CPU {:>5.1} s  receiver memory (PSS) start {:>5.0} MB, peak {:>5.0} MB, end {:>5.0} MB",
        median(mbs.clone()),
        mbs.iter().map(|m| format!("{m:.1}")).collect::<Vec<_>>().join(", "),
        median(samples.iter().map(|s| s.sender_cpu).collect()),
        median(samples.iter().map(|s| s.receiver_cpu).collect()),
        median(samples.iter().map(|s| mb(s.rss_start)).collect()),
        median(samples.iter().map(|s| mb(s.rss_peak)).collect()),
        median(samples.iter().map(|s| mb(s.rss_end)).collect()),
    );
}

async fn inner(mib: usize, runs: usize) {
    let root = tempfile::tempdir().unwrap();
    let bytes = mib * 1024 * 1024;
    // The app as served, plus the bare pages under /bench/.
    let app_dir = root.path().join("public");
    e2e::copy_dir(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/public")),
        &app_dir,
    );
    e2e::copy_dir(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/transfer")),
        &app_dir.join("bench"),
    );
    let file = root.path().join("video.bin");
    {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut block = vec![0u8; 1 << 20];
        for _ in 0..mib {
            for chunk in block.chunks_mut(8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                chunk.copy_from_slice(&x.to_le_bytes());
            }
            out.write_all(&block).unwrap();
        }
    }
    let certs = root.path().join("certs");
    let mut settings = common::settings(&certs);
    settings.bind = Some(e2e::SERVER_ADDR.into());
    settings.public_dir = Some(app_dir);
    let config = lanrtc::Config::load(&settings).unwrap();
    let (origin, stop, server) = e2e::serve(config).await;
    let ca = certs.join("ca.pem");
    println!("file-transfer benchmark: {mib} MiB, {runs} runs of each, interleaved; both browsers in one namespace");
    let (mut ceiling, mut through_app) = (vec![], vec![]);
    for run in 0..runs {
        let dir = root.path().join(format!("run{run}"));
        ceiling.push(bare(&origin, &dir, &ca, bytes).await);
        through_app.push(app(&origin, &dir, &ca, &file).await);
        let (c, a) = (ceiling.last().unwrap(), through_app.last().unwrap());
        eprintln!(
            "run {run}: bare {:.1} MB/s, app {:.1} MB/s",
            bytes as f64 / 1e6 / c.seconds,
            bytes as f64 / 1e6 / a.seconds
        );
    }
    report("bare data channel", bytes, &ceiling);
    report("lanrtc Send files", bytes, &through_app);
    let ratio = median(ceiling.iter().map(|s| s.seconds).collect())
        / median(through_app.iter().map(|s| s.seconds).collect());
    println!("lanrtc / ceiling: {:.0} %", ratio * 100.0);
    let _ = stop.send(());
    let _ = server.await;
}
