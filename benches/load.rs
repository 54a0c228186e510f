//! Load benchmark for the signaling hub: builds with the release profile
//! (`cargo bench --bench load`), starts the real `lanrtc` binary as its own
//! process on loopback (MDNS=off, RATE_LIMIT=0), and drives it over wss://
//! with many clients, each doing a full TLS handshake.
//!
//! Scenarios (all bounded in count and time, loopback only):
//! - `join N`: N clients connect and identify; the clock stops when every
//!   client has been told about all N-1 others.
//! - `relay`: with N idle peers connected, P pairs do M offer→accept round
//!   trips carrying a 4 KB SDP.
//! - `capacity N`: N identified peers held for 10 s.
//! - `churn`: peers join and leave (clean closes and dropped connections);
//!   a fresh client must then see exactly the live peers.
//!
//! Each scenario runs `--runs` times (default 3) on a fresh server and prints
//! the medians as a table row and one JSON line. It measures; it asserts no
//! time (the machine is shared and noisy). Usage:
//!   cargo bench --bench load -- [join N] [relay] [capacity N] [churn] [--runs R]

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::{watch, Semaphore};
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<TlsStream<TcpStream>>;

/// Connections opened at once while joining, as a crowd arriving would.
const CONCURRENCY: usize = 50;
/// The same for the 10,000-peer capacity run (the target is set at
/// this concurrency).
const CAPACITY_CONCURRENCY: usize = 100;
/// No scenario may run longer than this.
const SCENARIO_LIMIT: Duration = Duration::from_secs(180);

#[path = "support/server.rs"]
mod server;
use server::{Server, PIN};

// ---- clients ----

struct Client {
    ws: Ws,
    id: String,
}

async fn connect(server: &Server) -> Client {
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let _ = tcp.set_nodelay(true);
    let tls = TlsConnector::from(server.tls.clone())
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let url = format!("wss://localhost:{}/rtc", server.addr.port());
    let (mut ws, _) = tokio_tungstenite::client_async(url, tls).await.unwrap();
    let ready = next_json(&mut ws).await.expect("ready");
    Client {
        ws,
        id: ready["id"].as_str().unwrap().to_string(),
    }
}

async fn next_text(ws: &mut Ws) -> Option<String> {
    loop {
        match ws.next().await? {
            Ok(Message::Text(t)) => return Some(t.as_str().to_string()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

async fn next_json(ws: &mut Ws) -> Option<Value> {
    next_text(ws)
        .await
        .and_then(|t| serde_json::from_str(&t).ok())
}

async fn identify(c: &mut Client, name: &str) {
    let msg = json!({"type":"identify","data":{"id":c.id,"name":name}});
    c.ws.send(Message::text(msg.to_string())).await.unwrap();
}

/// Reads until `target` peer additions were seen (frames are only scanned,
/// not parsed: the client must not be the bottleneck).
async fn read_peers(ws: &mut Ws, target: usize) -> bool {
    let mut seen = 0;
    while seen < target {
        match next_text(ws).await {
            Some(t) if t.contains("\"type\":\"peer\"") && !t.contains("\"remove\":true") => {
                seen += 1
            }
            Some(_) => {}
            None => return false,
        }
    }
    true
}

/// Keeps reading (and so answering pings) until told to stop.
async fn drain_until(ws: &mut Ws, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            m = ws.next() => if m.is_none() { return },
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    percentile(&v, 0.5)
}

// ---- scenarios ----

/// N clients join; returns metrics.
async fn join(n: usize) -> Value {
    let server = Server::start(&[]);
    let rss_before = server.rss_kib();
    let cpu_before = server.cpu_seconds();
    let writes_before = server.write_syscalls();
    let gate = Arc::new(Semaphore::new(CONCURRENCY));
    let (stop_tx, stop_rx) = watch::channel(false);
    let (report_tx, mut report_rx) = tokio::sync::mpsc::channel(n.max(1));
    let started = Instant::now();
    let mut tasks = Vec::new();
    let server = Arc::new(server);
    // One task per client for its whole life, reading every frame as it
    // arrives, as a browser does: a client that read late would let the
    // server's queues fill and flatter its batching.
    for i in 0..n {
        let (gate, server, mut stop) = (gate.clone(), server.clone(), stop_rx.clone());
        let report = report_tx.clone();
        tasks.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await.unwrap();
            let t0 = Instant::now();
            let mut c = connect(&server).await;
            let handshake = t0.elapsed().as_secs_f64() * 1000.0;
            drop(permit);
            identify(&mut c, &format!("peer {i}")).await;
            let ok = read_peers(&mut c.ws, n - 1).await;
            let _ = report.send((handshake, started.elapsed(), ok)).await;
            drain_until(&mut c.ws, stop.clone()).await;
            let _ = stop.wait_for(|s| *s).await;
            let _ = c.ws.close(None).await;
        }));
    }
    drop(report_tx);
    let mut handshakes = Vec::new();
    let mut converged = Duration::ZERO;
    let mut failures = 0;
    // Each task reports once and then keeps its sender until the end.
    for _ in 0..n {
        let Some((h, c, ok)) = report_rx.recv().await else {
            break;
        };
        handshakes.push(h);
        converged = converged.max(c);
        failures += usize::from(!ok);
    }
    let cpu = server.cpu_seconds() - cpu_before;
    let writes = server.write_syscalls() - writes_before;
    let rss_after = server.rss_kib();
    let rss_peak = server.peak_rss_kib();
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    // Every client is sent its `ready` and one announcement of each other.
    let frames = (n * n) as f64;
    handshakes.sort_by(|a, b| a.total_cmp(b));
    json!({
        "scenario": format!("join {n}"),
        "converged_s": converged.as_secs_f64(),
        "server_cpu_s": cpu,
        "handshake_ms_p50": percentile(&handshakes, 0.5),
        "handshake_ms_p99": percentile(&handshakes, 0.99),
        "rss_before_mib": rss_before as f64 / 1024.0,
        "rss_after_mib": rss_after as f64 / 1024.0,
        "rss_peak_mib": rss_peak as f64 / 1024.0,
        "server_writes": writes,
        "frames_per_write": frames / writes.max(1) as f64,
        "failed_clients": failures,
    })
}

/// `idle` peers connected; `pairs` pairs do `rounds` offer→accept trips.
async fn relay(idle: usize, pairs: usize, rounds: usize) -> Value {
    let server = Arc::new(Server::start(&[]));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut drains = Vec::new();
    // Idle peers: connected and identified, reading what they are sent.
    let gate = Arc::new(Semaphore::new(CONCURRENCY));
    let mut joins = Vec::new();
    for i in 0..idle {
        let (gate, server) = (gate.clone(), server.clone());
        joins.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.unwrap();
            let mut c = connect(&server).await;
            identify(&mut c, &format!("idle {i}")).await;
            c
        }));
    }
    for j in joins {
        let mut c = j.await.unwrap();
        let stop = stop_rx.clone();
        drains.push(tokio::spawn(
            async move { drain_until(&mut c.ws, stop).await },
        ));
    }
    let sdp = "a=x-filler:".to_string() + &"0123456789abcdef".repeat(256); // ~4 KB
                                                                           // Every pair is connected and listed before the clock starts, so the
                                                                           // joins' announcements to the idle peers are not part of the measurement.
    let barrier = Arc::new(tokio::sync::Barrier::new(pairs + 1));
    let mut tasks = Vec::new();
    for p in 0..pairs {
        let (server, sdp, barrier) = (server.clone(), sdp.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let mut a = connect(&server).await;
            let mut b = connect(&server).await;
            // Unidentified peers cannot relay; identify and skip the list.
            identify(&mut a, &format!("caller {p}")).await;
            identify(&mut b, &format!("callee {p}")).await;
            let (a_id, b_id) = (a.id.clone(), b.id.clone());
            // Start once the callee is listed, or the first offer could race
            // its identify and find no target.
            loop {
                let t = next_text(&mut a.ws).await.expect("peer list");
                if t.contains(&b_id) {
                    break;
                }
            }
            let callee = tokio::spawn(async move {
                let mut answered = 0;
                while answered < rounds {
                    let Some(t) = next_text(&mut b.ws).await else { break };
                    if t.starts_with("{\"data\":{\"sdp\"") || t.contains("\"type\":\"offer\"") {
                        let reply = json!({"type":"accept","data":{"type":"answer","sdp":"v=0 answer","target":a_id}});
                        b.ws.send(Message::text(reply.to_string())).await.unwrap();
                        answered += 1;
                    }
                }
                b
            });
            barrier.wait().await;
            // The pairs' own join announcements to every idle peer (20 x
            // IDLE frames) are still being written and read; let them settle.
            tokio::time::sleep(Duration::from_secs(1)).await;
            let mut rtts = Vec::with_capacity(rounds);
            let offer = json!({"type":"offer","data":{"type":"offer","sdp":sdp,"target":b_id}}).to_string();
            for _ in 0..rounds {
                let t0 = Instant::now();
                a.ws.send(Message::text(offer.clone())).await.unwrap();
                loop {
                    let t = next_text(&mut a.ws).await.expect("accept");
                    if t.contains("\"type\":\"accept\"") {
                        break;
                    }
                }
                rtts.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
            // Both stay connected until every pair is done: a pair leaving
            // early would announce its removal to every idle peer and load
            // the server while the others are still measuring.
            let b = callee.await.unwrap();
            (rtts, a, b)
        }));
    }
    barrier.wait().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cpu_before = server.cpu_seconds();
    let started = Instant::now();
    let mut rtts = Vec::new();
    let mut finished = Vec::new();
    for t in tasks {
        let (r, a, b) = t.await.unwrap();
        rtts.extend(r);
        finished.push((a, b));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = server.cpu_seconds() - cpu_before;
    drop(finished);
    let _ = stop_tx.send(true);
    for d in drains {
        let _ = d.await;
    }
    rtts.sort_by(|a, b| a.total_cmp(b));
    json!({
        "scenario": format!("relay ({idle} idle, {pairs} pairs x {rounds})"),
        "rtt_ms_p50": percentile(&rtts, 0.5),
        "rtt_ms_p90": percentile(&rtts, 0.9),
        "rtt_ms_p99": percentile(&rtts, 0.99),
        "rtt_ms_max": rtts.last().copied().unwrap_or(f64::NAN),
        // Each round trip is two relayed messages.
        "messages_per_s": (rtts.len() * 2) as f64 / elapsed,
        "server_cpu_s": cpu,
    })
}

/// Holds `n` identified peers for 10 s.
async fn capacity(n: usize) -> Value {
    let server = Arc::new(Server::start(&[]));
    let rss_before = server.rss_kib();
    let cpu_before = server.cpu_seconds();
    let writes_before = server.write_syscalls();
    let (stop_tx, stop_rx) = watch::channel(false);
    let gate = Arc::new(Semaphore::new(CAPACITY_CONCURRENCY));
    let (alive_tx, alive_rx) = tokio::sync::mpsc::unbounded_channel::<bool>();
    let converged = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for i in 0..n {
        let (gate, server, mut stop, alive) = (
            gate.clone(),
            server.clone(),
            stop_rx.clone(),
            alive_tx.clone(),
        );
        let converged = converged.clone();
        tokio::spawn(async move {
            let permit = gate.acquire_owned().await.unwrap();
            let mut c = connect(&server).await;
            drop(permit);
            identify(&mut c, &format!("held {i}")).await;
            // Read every frame as it comes (a client that stops reading is
            // dropped), counting peers until all others are known; then
            // hold until the end. Alive means the socket was still open.
            let mut seen = 0;
            let open = loop {
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => break true,
                    m = c.ws.next() => match m {
                        Some(Ok(Message::Text(t))) => {
                            if t.as_str().contains("\"type\":\"peer\"") {
                                seen += 1;
                                if seen == n - 1 {
                                    converged.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                }
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => break false,
                    },
                }
            };
            let _ = alive.send(open);
        });
    }
    drop(alive_tx);
    let started = Instant::now();
    // Everyone connected, identified and told about everyone (bounded).
    while converged.load(std::sync::atomic::Ordering::Relaxed) < n
        && started.elapsed() < Duration::from_secs(150)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let converged_s = started.elapsed().as_secs_f64();
    let converged_n = converged.load(std::sync::atomic::Ordering::Relaxed);
    let cpu = server.cpu_seconds() - cpu_before;
    let writes = server.write_syscalls() - writes_before;
    let rss_peak = server.peak_rss_kib();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let rss_held = server.rss_kib();
    let _ = stop_tx.send(true);
    let mut alive_rx = alive_rx;
    let mut alive = 0;
    while let Some(open) = alive_rx.recv().await {
        alive += usize::from(open);
    }
    json!({
        "scenario": format!("capacity {n}"),
        "converged": converged_n,
        "converged_s": converged_s,
        "server_cpu_s": cpu,
        "held": alive,
        "rss_before_mib": rss_before as f64 / 1024.0,
        "rss_peak_mib": rss_peak as f64 / 1024.0,
        "rss_held_mib": rss_held as f64 / 1024.0,
        "rss_per_peer_kib": (rss_held.saturating_sub(rss_before)) as f64 / n as f64,
        "server_writes": writes,
        "frames_per_write": (n * n) as f64 / writes.max(1) as f64,
    })
}

/// Rounds of joins and leaves; then a fresh client counts who it is told about.
async fn churn(peers: usize, rounds: usize) -> Value {
    let server = Server::start(&[]);
    let rss_start = server.rss_kib();
    let mut ghosts = 0;
    let mut rss_rounds = Vec::new();
    let mut keep: Vec<Client> = Vec::new();
    for round in 0..rounds {
        let mut clients = Vec::new();
        for i in 0..peers {
            let mut c = connect(&server).await;
            identify(&mut c, &format!("r{round} p{i}")).await;
            clients.push(c);
        }
        // Half leave cleanly, half vanish; one in ten of the first round stays.
        for (i, mut c) in clients.into_iter().enumerate() {
            // Only the first round keeps anyone, so the live set is constant
            // afterwards and memory should plateau.
            if round == 0 && i % 10 == 0 {
                keep.push(c);
            } else if i % 2 == 0 {
                let _ = c.ws.close(None).await;
            } else {
                drop(c);
            }
        }
        // Kept clients must keep reading or they would be dropped as slow.
        for c in keep.iter_mut() {
            while let Ok(Some(_)) =
                tokio::time::timeout(Duration::from_millis(1), c.ws.next()).await
            {}
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut fresh = connect(&server).await;
        identify(&mut fresh, "counter").await;
        let mut seen: usize = 0;
        while let Ok(Some(t)) =
            tokio::time::timeout(Duration::from_millis(500), next_text(&mut fresh.ws)).await
        {
            if t.contains("\"type\":\"peer\"") {
                seen += 1;
            }
        }
        ghosts += seen.abs_diff(keep.len());
        let _ = fresh.ws.close(None).await;
        rss_rounds.push(server.rss_kib() as f64 / 1024.0);
    }
    let live = keep.len();
    for mut c in keep {
        let _ = c.ws.close(None).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    json!({
        "scenario": format!("churn ({rounds} rounds x {peers})"),
        "ghosts": ghosts,
        "kept_live": live,
        "rss_start_mib": rss_start as f64 / 1024.0,
        "rss_end_mib": server.rss_kib() as f64 / 1024.0,
        // A plateau here means memory is reused, not leaked.
        "rss_after_each_round_mib": rss_rounds,
    })
}

// ---- driver ----

fn merge_runs(runs: Vec<Value>) -> Value {
    let mut out = runs[0].clone();
    if let Value::Object(map) = &mut out {
        for (key, value) in map.iter_mut() {
            if value.is_number() {
                let values: Vec<f64> = runs.iter().filter_map(|r| r[key].as_f64()).collect();
                *value = json!(median(values));
            }
        }
        map.insert("runs".into(), json!(runs.len()));
    }
    out
}

fn main() {
    if let Some(warning) = lanrtc::server::raise_fd_limit(12_000) {
        eprintln!("warning: {warning}");
    }
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let mut runs = 3;
    let mut scenarios: Vec<(String, usize)> = Vec::new();
    let mut it = args.iter().peekable();
    while let Some(arg) = it.next() {
        let number = |it: &mut std::iter::Peekable<std::slice::Iter<String>>, default: usize| {
            it.next_if(|n| n.parse::<usize>().is_ok())
                .map(|n| n.parse().unwrap())
                .unwrap_or(default)
        };
        match arg.as_str() {
            "--runs" => runs = number(&mut it, 3).max(1),
            "--pin" => PIN.store(true, std::sync::atomic::Ordering::Relaxed),
            "join" => scenarios.push(("join".into(), number(&mut it, 1000))),
            "capacity" => scenarios.push(("capacity".into(), number(&mut it, 10_000))),
            "relay" => scenarios.push(("relay".into(), number(&mut it, 1000))),
            "churn" => scenarios.push(("churn".into(), number(&mut it, 200))),
            other => {
                eprintln!("unknown argument {other:?}; use: join N | relay [IDLE] | capacity N | churn [N] | --runs R | --pin");
                std::process::exit(2);
            }
        }
    }
    if scenarios.is_empty() {
        scenarios = vec![
            ("join".into(), 1000),
            ("join".into(), 5000),
            ("relay".into(), 1000),
            ("capacity".into(), 10_000),
            ("churn".into(), 200),
        ];
    }
    if PIN.load(std::sync::atomic::Ordering::Relaxed) {
        server::pin_generator();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "lanrtc load benchmark: {} cores, medians of {runs} runs",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for (name, n) in scenarios {
        let mut results = Vec::new();
        for _ in 0..runs {
            let fut = async {
                match name.as_str() {
                    "join" => join(n).await,
                    "relay" => relay(n, 10, 200).await,
                    "capacity" => capacity(n).await,
                    _ => churn(n, 8).await,
                }
            };
            match rt.block_on(async { tokio::time::timeout(SCENARIO_LIMIT, fut).await }) {
                Ok(v) => results.push(v),
                Err(_) => {
                    eprintln!("{name} {n}: gave up after {SCENARIO_LIMIT:?}");
                    break;
                }
            }
        }
        if results.is_empty() {
            println!(
                "{}",
                json!({"scenario": format!("{name} {n}"), "error": "timed out"})
            );
            continue;
        }
        server::report(&merge_runs(results));
    }
}
