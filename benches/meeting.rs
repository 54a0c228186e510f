//! Meeting benchmark: N synthetic participants (N = 4, 8, 16) in one room's
//! meeting against the release binary on loopback, each doing what a page
//! does over `/rtc` — identify, join, publish VP8 + Opus once with its audio
//! level, subscribe to every other member — and receiving everyone else.
//!
//! Each participant's subscriptions are str0m clients that, once their first
//! keyframe has arrived, count RTP from its headers instead of decrypting it
//! (see benches/media.rs). One participant talks (its packets carry a loud
//! audio level), then another takes over, and the time until the room is
//! told the new speaker is measured.
//!
//! Measures and asserts nothing about time. Usage:
//!   cargo bench --bench meeting              # N = 4, 8, 16
//!   cargo bench --bench meeting -- 16        # chosen N
//!   cargo bench --bench meeting -- --pin 16  # server on CPU 0, generator on CPU 1

#[path = "support/measure.rs"]
mod measure;
#[path = "support/server.rs"]
mod server;
#[path = "../tests/common/webrtc_client.rs"]
mod webrtc_client;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use measure::{percentile, self_cpu_seconds, udp_receive_drops, window_delta};
use serde_json::{json, Value};
use server::Server;
use str0m::media::Direction;
use str0m::Event;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use webrtc_client::{publish_until, Client, RtpCount};

type Ws = WebSocketStream<TlsStream<TcpStream>>;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Bytes of a top-layer delta frame: with keyframes (4×, every 60th frame)
/// and the RTP overhead about 1.3 Mbit/s at 1280 px; the 640 and 320 px
/// layers are a quarter and a sixteenth of it, as a browser's simulcast.
const VIDEO_BYTES: usize = 5_000;
const LAYERS: [&str; 3] = ["q", "h", "f"];
/// The screen each participant shows the grid on, in device pixels.
const SCREEN: (f64, f64) = (1280.0, 720.0);
const WARMUP: Duration = Duration::from_secs(2);
const WINDOW: Duration = Duration::from_secs(10);
const SCENARIO_LIMIT: Duration = Duration::from_secs(180);
/// Audio levels (−dBov as str0m writes them) of a talker and of silence.
const TALKING: i8 = -20;
const SILENT: i8 = -127;

/// The measurement window, once every stream flows.
type Window = watch::Receiver<Option<(Instant, Instant)>>;

async fn connect(server: &Server) -> (Ws, String) {
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let _ = tcp.set_nodelay(true);
    let tls = TlsConnector::from(server.tls.clone())
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let url = format!("wss://localhost:{}/rtc?room=bench", server.addr.port());
    let (mut ws, _) = tokio_tungstenite::client_async(url, tls).await.unwrap();
    let ready = next_json(&mut ws).await.expect("ready");
    let id = ready["id"].as_str().unwrap().to_string();
    (ws, id)
}

async fn next_json(ws: &mut Ws) -> Option<Value> {
    loop {
        match ws.next().await? {
            Ok(Message::Text(t)) => return serde_json::from_str(t.as_str()).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

/// One subscription: waits for its first keyframe, tells `ready`, then
/// counts RTP through the window.
async fn subscription(
    mut client: Client,
    asked: Instant,
    ready: mpsc::Sender<Duration>,
    mut window: Window,
) -> (RtpCount, RtpCount) {
    let give_up = asked + Duration::from_secs(30);
    while let Some(event) = client.next_event(give_up).await {
        if let Event::MediaData(d) = event {
            if Some(d.mid) == client.video && d.is_keyframe() {
                break;
            }
        }
    }
    let _ = ready.send(asked.elapsed()).await;
    client.counting = Some(RtpCount::default());
    let (start, end) = loop {
        if let Some(w) = *window.borrow() {
            break w;
        }
        let soon = Instant::now() + Duration::from_millis(50);
        tokio::select! {
            _ = client.next_event(soon) => {}
            _ = window.changed() => {}
        }
    };
    while Instant::now() < start {
        let _ = client.next_event(start).await;
    }
    let first = client.counting.clone().unwrap_or_default();
    while Instant::now() < end {
        let _ = client.next_event(end).await;
    }
    (first, client.counting.take().unwrap_or_default())
}

/// Participant 1's subscription to participant 0, decrypted rather than
/// counted: when `switch` fires, participant 1 has just made P0's tile full
/// width; how long until the first frame of the top layer (tag 1 + 2).
async fn probe(
    mut client: Client,
    asked: Instant,
    ready: mpsc::Sender<Duration>,
    mut switch: watch::Receiver<Option<Instant>>,
    until: Instant,
) -> Option<Duration> {
    let mut seen_keyframe = false;
    let mut since: Option<Instant> = None;
    while let Some(event) = client.next_event(until).await {
        if since.is_none() {
            since = *switch.borrow_and_update();
        }
        let Event::MediaData(d) = event else { continue };
        if Some(d.mid) != client.video {
            continue;
        }
        if !seen_keyframe && d.is_keyframe() {
            seen_keyframe = true;
            let _ = ready.send(asked.elapsed()).await;
        }
        if let (Some(t), Some(3)) = (since, d.data.get(1).copied()) {
            return Some(t.elapsed());
        }
    }
    None
}

/// Tile widths for a grid of `tiles` on [`SCREEN`], as the page works them
/// out (the arrangement with the largest 16:9 tiles).
fn tile_width(tiles: usize) -> u32 {
    let (w, h) = SCREEN;
    (1..=tiles.max(1))
        .map(|columns| {
            let rows = tiles.div_ceil(columns);
            (w / columns as f64).min(h / rows as f64 * 16.0 / 9.0)
        })
        .fold(0.0, f64::max) as u32
}

/// What the participants' signaling tasks report.
enum Report {
    /// A subscription's first keyframe arrived this long after it was asked.
    Subscribed(Duration),
    /// The room was told this speaker.
    Speaker(String, Instant),
}

/// What one participant is given by the scenario.
struct Part {
    server: Arc<Server>,
    index: usize,
    reports: mpsc::Sender<Report>,
    window: Window,
    /// Its microphone's level, changed halfway.
    level: Arc<std::sync::atomic::AtomicI8>,
    /// Where it says its id.
    ids: mpsc::Sender<(usize, String)>,
    /// When participant 1 makes participant 0's tile full width.
    switch: watch::Receiver<Option<Instant>>,
    /// Participant 1's measured layer switch.
    probed: tokio::sync::oneshot::Sender<Option<Duration>>,
}

/// One participant: signaling, its publisher and its subscriptions. Returns
/// its subscriptions' counts.
async fn participant(part: Part) -> Vec<(RtpCount, RtpCount)> {
    let Part {
        server,
        index,
        reports,
        window,
        level,
        ids,
        mut switch,
        probed,
    } = part;
    let mut probed = Some(probed);
    let mut probe_task = None;
    let mut names: HashMap<String, String> = HashMap::new();
    let mut tiles: serde_json::Map<String, Value> = serde_json::Map::new();
    let mut switched = false;
    let (mut ws, id) = connect(&server).await;
    let _ = ids.send((index, id.clone())).await;
    send(
        &mut ws,
        json!({"type":"identify","data":{"id":id,"name":format!("P{index}")}}),
    )
    .await;
    send(&mut ws, json!({"type":"meeting","data":{"action":"join"}})).await;
    let (publisher, offer) = Client::with_layers(LOOPBACK, Direction::SendOnly, &LAYERS).await;
    let mut publisher = Some(publisher);
    send(
        &mut ws,
        json!({"type":"publish","data":{"sdp":offer,"meeting":true}}),
    )
    .await;
    let deadline = Instant::now() + SCENARIO_LIMIT;
    let (first_tx, mut first_rx) = mpsc::channel(64);
    let mut pending: HashMap<String, (Client, Instant)> = HashMap::new();
    let mut subscribed: Vec<tokio::task::JoinHandle<(RtpCount, RtpCount)>> = Vec::new();
    let mut asked: std::collections::HashSet<String> = Default::default();
    let mut publishing = None;
    let mut window_rx = window.clone();
    let over = async move {
        let end = loop {
            let current = *window_rx.borrow_and_update();
            if let Some((_, end)) = current {
                break end;
            }
            if window_rx.changed().await.is_err() {
                return;
            }
        };
        tokio::time::sleep_until(end.into()).await;
    };
    tokio::pin!(over);
    loop {
        let message = tokio::select! {
            m = next_json(&mut ws) => match m { Some(m) => m, None => break },
            Some(t) = first_rx.recv() => { let _ = reports.send(Report::Subscribed(t)).await; continue; }
            _ = switch.changed(), if index == 1 && !switched => {
                // Participant 1 pins P0: its tile becomes full width.
                switched = true;
                let p0 = names.iter().find(|(_, n)| n.as_str() == "P0").map(|(id, _)| id.clone());
                if let Some(p0) = p0 {
                    tiles.insert(p0, json!(SCREEN.0 as u32));
                    send(&mut ws, json!({"type":"meeting","data":{"action":"view","tiles":tiles.clone()}})).await;
                }
                continue;
            }
            _ = &mut over => break,
        };
        match message["type"].as_str() {
            Some("peer") => {
                if let (Some(pid), Some(name)) = (
                    message["data"]["id"].as_str(),
                    message["data"]["name"].as_str(),
                ) {
                    names.insert(pid.to_string(), name.to_string());
                }
            }
            Some("published") => {
                let Some(mut publisher) = publisher.take() else {
                    continue;
                };
                publisher.accept(message["data"]["sdp"].as_str().unwrap());
                publisher.shared_level = Some(level.clone());
                publishing = Some(tokio::spawn(async move {
                    publish_until(&mut publisher, deadline, VIDEO_BYTES, 1).await;
                }));
            }
            Some("meeting") => {
                if let Some(s) = message["data"]["speaker"].as_str() {
                    let _ = reports
                        .send(Report::Speaker(s.to_string(), Instant::now()))
                        .await;
                }
                for m in message["data"]["members"].as_array().into_iter().flatten() {
                    let other = m["id"].as_str().unwrap_or_default().to_string();
                    if other == id || m["publishing"] != true || asked.contains(&other) {
                        continue;
                    }
                    asked.insert(other.clone());
                    let (client, offer) = Client::new(LOOPBACK, Direction::RecvOnly).await;
                    pending.insert(other.clone(), (client, Instant::now()));
                    send(
                        &mut ws,
                        json!({"type":"subscribe","data":{"target":other,"sdp":offer}}),
                    )
                    .await;
                }
            }
            Some("subscribed") => {
                let source = message["data"]["source"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                if let Some((mut client, at)) = pending.remove(&source) {
                    client.accept(message["data"]["sdp"].as_str().unwrap());
                    let is_probe =
                        index == 1 && names.get(&source).map(String::as_str) == Some("P0");
                    if is_probe {
                        probe_task = Some(tokio::spawn(probe(
                            client,
                            at,
                            first_tx.clone(),
                            switch.clone(),
                            deadline,
                        )));
                    } else {
                        subscribed.push(tokio::spawn(subscription(
                            client,
                            at,
                            first_tx.clone(),
                            window.clone(),
                        )));
                    }
                    // The grid this participant shows: every other member's
                    // tile the same width, told to the appliance as a page does.
                    let width = tile_width(asked.len() + 1);
                    for other in &asked {
                        tiles.insert(other.clone(), json!(width));
                    }
                    send(
                        &mut ws,
                        json!({"type":"meeting","data":{"action":"view","tiles":tiles.clone()}}),
                    )
                    .await;
                }
            }
            Some("error") | Some("unsubscribed") => eprintln!("P{index}: {message}"),
            _ => {}
        }
    }
    if let Some(p) = publishing {
        p.abort();
    }
    if let (Some(task), Some(tx)) = (probe_task, probed.take()) {
        task.abort();
        let _ = tx.send(task.await.ok().flatten());
    }
    let mut out = Vec::new();
    for s in subscribed {
        if let Ok(r) = s.await {
            out.push(r);
        }
    }
    out
}

async fn scenario(n: usize) -> Value {
    let log = std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into());
    let server = Arc::new(Server::start(&[
        ("MAX_MEETING", "32"),
        ("MEDIA_PORT", "0"),
        ("RUST_LOG", &log),
    ]));
    let rss_idle = server.rss_kib();
    let (report_tx, mut reports) = mpsc::channel(4096);
    let (window_tx, window_rx) = watch::channel(None);
    let (id_tx, mut id_rx) = mpsc::channel(n);
    let levels: Vec<_> = (0..n)
        .map(|i| {
            Arc::new(std::sync::atomic::AtomicI8::new(if i == 0 {
                TALKING
            } else {
                SILENT
            }))
        })
        .collect();
    let started = Instant::now();
    let (switch_tx, switch_rx) = watch::channel(None);
    let mut probes = Vec::new();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (tx, rx) = tokio::sync::oneshot::channel();
            probes.push(rx);
            tokio::spawn(participant(Part {
                server: server.clone(),
                index: i,
                reports: report_tx.clone(),
                window: window_rx.clone(),
                level: levels[i].clone(),
                ids: id_tx.clone(),
                switch: switch_rx.clone(),
                probed: tx,
            }))
        })
        .collect();
    drop(report_tx);
    let mut ids = HashMap::new();
    for _ in 0..n {
        let (i, id) = id_rx.recv().await.unwrap();
        ids.insert(id, i);
    }
    // Every member receives every other: n × (n − 1) first keyframes.
    let mut first_keyframe_ms = Vec::new();
    let mut speakers: Vec<(usize, Instant)> = Vec::new();
    while first_keyframe_ms.len() < n * (n - 1) {
        match reports.recv().await {
            Some(Report::Subscribed(t)) => first_keyframe_ms.push(t.as_secs_f64() * 1000.0),
            Some(Report::Speaker(id, at)) => speakers.push((ids[&id], at)),
            None => break,
        }
    }
    let mesh_seconds = started.elapsed().as_secs_f64();
    let start = Instant::now() + WARMUP;
    let end = start + WINDOW;
    window_tx.send_replace(Some((start, end)));
    tokio::time::sleep_until(start.into()).await;
    let (cpu0, gen0, drops0) = (
        server.cpu_seconds(),
        self_cpu_seconds(),
        udp_receive_drops(),
    );
    // Halfway through, participant 0 goes quiet and the last one talks.
    tokio::time::sleep(WINDOW / 2).await;
    levels[0].store(SILENT, std::sync::atomic::Ordering::Relaxed);
    levels[n - 1].store(TALKING, std::sync::atomic::Ordering::Relaxed);
    let switched_at = Instant::now();
    // And participant 1 makes participant 0's tile full width.
    switch_tx.send_replace(Some(switched_at));
    let mut speaker_switch_ms = f64::NAN;
    let collect_until = end;
    loop {
        let left = collect_until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, reports.recv()).await {
            Ok(Some(Report::Speaker(id, at))) => {
                if ids[&id] == n - 1 && at > switched_at && speaker_switch_ms.is_nan() {
                    speaker_switch_ms = (at - switched_at).as_secs_f64() * 1000.0;
                }
            }
            Ok(Some(Report::Subscribed(_))) => {}
            _ => break,
        }
    }
    tokio::time::sleep_until(end.into()).await;
    let (cpu1, gen1, drops1) = (
        server.cpu_seconds(),
        self_cpu_seconds(),
        udp_receive_drops(),
    );
    let rss = server.rss_kib();
    let (mut packets, mut bytes, mut losses) = (0u64, 0u64, Vec::new());
    let mut streams = 0;
    for t in tasks {
        for (a, b) in t.await.unwrap_or_default() {
            let (p, by, loss) = window_delta(&a, &b);
            packets += p;
            bytes += by;
            losses.push(loss * 100.0);
            streams += 1;
        }
    }
    let mut layer_switch_ms = f64::NAN;
    for p in probes {
        if let Ok(Some(t)) = p.await {
            layer_switch_ms = t.as_secs_f64() * 1000.0;
        }
    }
    first_keyframe_ms.sort_by(f64::total_cmp);
    losses.sort_by(f64::total_cmp);
    let secs = WINDOW.as_secs_f64();
    let cpu = cpu1 - cpu0;
    json!({
        "participants": n,
        "tile_px": tile_width(n - 1),
        "layer_switch_ms": layer_switch_ms,
        "streams_received": streams,
        "all_receiving_s": mesh_seconds,
        "server_cpu_pct": cpu / secs * 100.0,
        "server_rss_mib": rss as f64 / 1024.0,
        "server_rss_idle_mib": rss_idle as f64 / 1024.0,
        "forwarded_pkts_per_s": packets as f64 / secs,
        "forwarded_mbit_s": bytes as f64 * 8.0 / secs / 1e6,
        "cpu_us_per_pkt": if packets > 0 { cpu * 1e6 / packets as f64 } else { f64::NAN },
        "loss_median_pct": percentile(&losses, 0.5),
        "loss_max_pct": percentile(&losses, 1.0),
        "first_keyframe_ms_p50": percentile(&first_keyframe_ms, 0.5),
        "first_keyframe_ms_max": percentile(&first_keyframe_ms, 1.0),
        "first_speaker_seen": speakers.first().map(|(i, _)| *i),
        "speaker_switch_ms": speaker_switch_ms,
        "generator_cpu_pct": (gen1 - gen0) / secs * 100.0,
        "udp_receive_drops": drops1 - drops0,
    })
}

fn main() {
    let title = format!(
        "lanrtc meeting benchmark: {} cores, each participant ~0.5 Mbit/s VP8 + Opus, receiving all others, {}s window",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        WINDOW.as_secs()
    );
    measure::run_scenarios(
        &title,
        &[4, 8, 16],
        2..=32,
        "participants",
        SCENARIO_LIMIT,
        scenario,
    );
}
