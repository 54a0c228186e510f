//! Media benchmark: one synthetic publisher (VP8 at about 2 Mbit/s, 30 fps,
//! a keyframe every 2 s, plus Opus) and N synthetic viewers against the
//! release binary on loopback, over WHIP and WHEP like OBS and players.
//!
//! The viewers are str0m clients that do everything a browser does to stay
//! connected (ICE consent, DTLS, RTCP) but, once their first keyframe has
//! arrived, count RTP from its headers instead of decrypting it: they
//! receive without decoding, so the generator costs as little as it can.
//! Loss is measured per viewer from the RTP sequence numbers.
//!
//! It measures and asserts nothing about time (the machine is shared and
//! noisy). Usage:
//!   cargo bench --bench media                 # N = 10, 50, 100, 200, 500
//!   cargo bench --bench media -- 100 200      # chosen N
//!   cargo bench --bench media -- --pin 200    # server on CPU 0, generator on CPU 1

#[path = "support/measure.rs"]
mod measure;
#[path = "support/server.rs"]
mod server;
#[path = "../tests/common/webrtc_client.rs"]
mod webrtc_client;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use measure::{percentile, self_cpu_seconds, udp_receive_drops, window_delta};
use serde_json::{json, Value};
use server::Server;
use str0m::media::Direction;
use str0m::Event;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;
use webrtc_client::{publish_until, Client, RtpCount};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Bytes of a delta frame; keyframes are 4×, every 60th frame. With the
/// RTP and SRTP overhead this is about 2 Mbit/s of video.
const VIDEO_BYTES: usize = 7_000;
/// Viewers signing up at once, as a crowd arriving would.
const JOIN_CONCURRENCY: usize = 20;
/// Time for every stream to settle before measuring, and the measurement.
const WARMUP: Duration = Duration::from_secs(2);
const WINDOW: Duration = Duration::from_secs(10);
/// No scenario may run longer than this.
const SCENARIO_LIMIT: Duration = Duration::from_secs(240);

/// A POST or DELETE over HTTPS; returns the status, `Location` and body.
async fn http(server: &Server, method: &str, path: &str, body: String) -> (u16, String, String) {
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let tls = TlsConnector::from(server.tls.clone())
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", format!("localhost:{}", server.addr.port()))
        .header("content-type", "application/sdp")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let res = sender.send_request(req).await.unwrap();
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        location,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

/// What one viewer measured.
struct ViewerResult {
    first_keyframe: Option<Duration>,
    start: RtpCount,
    end: RtpCount,
}

/// One viewer: signs up over WHEP, waits for its first keyframe, then
/// counts until the window ends.
async fn viewer(
    server: Arc<Server>,
    gate: Arc<Semaphore>,
    ready: mpsc::Sender<()>,
    window: watch::Receiver<Option<(Instant, Instant)>>,
) -> ViewerResult {
    let (mut client, offer) = Client::new(LOOPBACK, Direction::RecvOnly).await;
    let permit = gate.acquire().await.unwrap();
    let asked = Instant::now();
    let (status, _, answer) = http(&server, "POST", "/whep/bench", offer).await;
    drop(permit);
    assert_eq!(status, 201, "WHEP refused a viewer: {answer}");
    client.accept(&answer);
    let mut result = ViewerResult {
        first_keyframe: None,
        start: RtpCount::default(),
        end: RtpCount::default(),
    };
    let give_up = asked + Duration::from_secs(30);
    while let Some(event) = client.next_event(give_up).await {
        if let Event::MediaData(d) = event {
            if Some(d.mid) == client.video && d.is_keyframe() {
                result.first_keyframe = Some(asked.elapsed());
                break;
            }
        }
    }
    client.counting = Some(RtpCount::default());
    let _ = ready.send(()).await;
    let (start, end) = loop {
        if let Some(w) = *window.borrow() {
            break w;
        }
        let soon = Instant::now() + Duration::from_millis(50);
        let _ = client.next_event(soon).await;
    };
    while Instant::now() < start {
        let _ = client.next_event(start).await;
    }
    result.start = client.counting.clone().unwrap_or_default();
    while Instant::now() < end {
        let _ = client.next_event(end).await;
    }
    result.end = client.counting.take().unwrap_or_default();
    result
}

async fn scenario(n: usize) -> Value {
    let log = std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into());
    let server = Arc::new(Server::start(&[
        ("MAX_VIEWERS", "10000"),
        ("MEDIA_PORT", "0"),
        ("RUST_LOG", &log),
    ]));
    let rss_idle = server.rss_kib();
    let (mut publisher, offer) = Client::new(LOOPBACK, Direction::SendOnly).await;
    let (status, _, answer) = http(&server, "POST", "/whip/bench?name=Bench", offer).await;
    assert_eq!(status, 201, "WHIP refused the publisher: {answer}");
    publisher.accept(&answer);
    let publishing = tokio::spawn(async move {
        publish_until(
            &mut publisher,
            Instant::now() + SCENARIO_LIMIT,
            VIDEO_BYTES,
            1,
        )
        .await
    });

    let gate = Arc::new(Semaphore::new(JOIN_CONCURRENCY));
    let (ready_tx, mut ready_rx) = mpsc::channel(n.max(1));
    let (window_tx, window_rx) = watch::channel(None);
    let joined_at = Instant::now();
    let viewers: Vec<_> = (0..n)
        .map(|_| {
            tokio::spawn(viewer(
                server.clone(),
                gate.clone(),
                ready_tx.clone(),
                window_rx.clone(),
            ))
        })
        .collect();
    drop(ready_tx);
    for _ in 0..n {
        if ready_rx.recv().await.is_none() {
            break;
        }
    }
    let join_seconds = joined_at.elapsed().as_secs_f64();
    let start = Instant::now() + WARMUP;
    let end = start + WINDOW;
    window_tx.send_replace(Some((start, end)));
    tokio::time::sleep_until(start.into()).await;
    let (cpu0, gen0, drops0) = (
        server.cpu_seconds(),
        self_cpu_seconds(),
        udp_receive_drops(),
    );
    tokio::time::sleep_until(end.into()).await;
    let (cpu1, gen1, drops1) = (
        server.cpu_seconds(),
        self_cpu_seconds(),
        udp_receive_drops(),
    );
    let rss = server.rss_kib();

    let mut first_keyframe_ms = Vec::new();
    let mut losses = Vec::new();
    let (mut packets, mut bytes) = (0u64, 0u64);
    for v in viewers {
        let r = v.await.unwrap();
        if let Some(t) = r.first_keyframe {
            first_keyframe_ms.push(t.as_secs_f64() * 1000.0);
        }
        let (p, b, loss) = window_delta(&r.start, &r.end);
        packets += p;
        bytes += b;
        losses.push(loss * 100.0);
    }
    publishing.abort();
    first_keyframe_ms.sort_by(f64::total_cmp);
    losses.sort_by(f64::total_cmp);
    let secs = WINDOW.as_secs_f64();
    let cpu = cpu1 - cpu0;
    json!({
        "viewers": n,
        "joined_s": join_seconds,
        "server_cpu_pct": cpu / secs * 100.0,
        "server_rss_mib": rss as f64 / 1024.0,
        "server_rss_idle_mib": rss_idle as f64 / 1024.0,
        "forwarded_pkts_per_s": packets as f64 / secs,
        "forwarded_mbit_s": bytes as f64 * 8.0 / secs / 1e6,
        // What each viewer got; the publisher sends about 270 a second.
        "per_viewer_pkts_per_s": packets as f64 / secs / n as f64,
        "cpu_us_per_pkt": if packets > 0 { cpu * 1e6 / packets as f64 } else { f64::NAN },
        "loss_median_pct": percentile(&losses, 0.5),
        "loss_max_pct": percentile(&losses, 1.0),
        "first_keyframe_ms_p50": percentile(&first_keyframe_ms, 0.5),
        "first_keyframe_ms_max": percentile(&first_keyframe_ms, 1.0),
        "generator_cpu_pct": (gen1 - gen0) / secs * 100.0,
        "udp_receive_drops": drops1 - drops0,
    })
}

fn main() {
    let title = format!(
        "lanrtc media benchmark: {} cores, one ~2 Mbit/s VP8+Opus publisher, {}s window",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        WINDOW.as_secs()
    );
    measure::run_scenarios(
        &title,
        &[10, 50, 100, 200, 500],
        1..=100_000,
        "viewers",
        SCENARIO_LIMIT,
        scenario,
    );
}
