//! `/metrics` (the Prometheus text format) and `/healthz`, for a supervisor
//! and for whoever keeps the appliance running for months.
//!
//! Counters are bumped where things happen (a relay, an error, a dropped
//! client, a reload); levels (connections, rooms, media sessions) are read
//! when scraped, so nothing is counted twice. Names of peers and rooms never
//! appear: only counts.
//!
//! Both paths are open to clients on this machine (loopback); from the LAN
//! they need the access key when one is set (cookie, `?key=` or
//! `Authorization: Bearer`), like everything else.

use std::net::IpAddr;
use std::sync::atomic::Ordering;

use hyper::header::{self, HeaderMap};
use hyper::{Response, StatusCode, Uri};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::app::App;
use crate::respond::{response, text_response, Body};

pub const METRICS_PATH: &str = "/metrics";
pub const HEALTH_PATH: &str = "/healthz";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Kind {
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Code {
    pub code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    pub reason: &'static str,
}

/// Everything counted. Cheap to bump from any task (atomics).
pub struct Metrics {
    registry: Registry,
    /// Connections accepted, by `kind`: `tls` or `plain`.
    pub connections: Family<Kind, Counter>,
    pub relayed: Counter,
    /// Protocol errors sent to clients, by code.
    pub errors: Family<Code, Counter>,
    /// Messages dropped by the rate limiter.
    pub rate_limited: Counter,
    /// Sockets the server closed, by why (`flooding`, `too-slow`, `too-big`,
    /// `binary`, `idle`, `shutdown`, `replaced`).
    pub closed: Family<Reason, Counter>,
    pub reloads: Counter,
    peers: Gauge,
    identified: Gauge,
    rooms: Gauge,
    cert_expiry: Gauge,
    media_sessions: Gauge,
    media_broadcasts: Gauge,
    media_packets_in: Counter,
    media_packets_out: Counter,
    media_bytes_out: Counter,
    media_unknown_dropped: Counter,
    media_send_dropped: Counter,
    pipes_waiting: Gauge,
    pipes_running: Gauge,
    pipes_connected: Counter,
    pipe_bytes: Counter,
    /// Two scrapes at once must not both add the same media or pipe delta.
    scrape_sync: std::sync::Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("lanrtc");
        let m = Metrics {
            connections: Family::default(),
            relayed: Counter::default(),
            errors: Family::default(),
            rate_limited: Counter::default(),
            closed: Family::default(),
            reloads: Counter::default(),
            peers: Gauge::default(),
            identified: Gauge::default(),
            rooms: Gauge::default(),
            cert_expiry: Gauge::default(),
            media_sessions: Gauge::default(),
            media_broadcasts: Gauge::default(),
            media_packets_in: Counter::default(),
            media_packets_out: Counter::default(),
            media_bytes_out: Counter::default(),
            media_unknown_dropped: Counter::default(),
            media_send_dropped: Counter::default(),
            pipes_waiting: Gauge::default(),
            pipes_running: Gauge::default(),
            pipes_connected: Counter::default(),
            pipe_bytes: Counter::default(),
            scrape_sync: std::sync::Mutex::new(()),
            registry: Registry::default(),
        };
        registry.register(
            "connections",
            "Connections accepted on the port, by kind (tls or plain)",
            m.connections.clone(),
        );
        registry.register(
            "signaling_peers",
            "Signaling connections held now",
            m.peers.clone(),
        );
        registry.register(
            "signaling_identified_peers",
            "Signaling connections that have identified",
            m.identified.clone(),
        );
        registry.register(
            "rooms",
            "Rooms with anyone in them, the lobby included",
            m.rooms.clone(),
        );
        registry.register(
            "messages_relayed",
            "Signaling messages relayed from one peer to another",
            m.relayed.clone(),
        );
        registry.register(
            "protocol_errors",
            "Protocol errors sent to clients, by code",
            m.errors.clone(),
        );
        registry.register(
            "rate_limited_messages",
            "Signaling messages dropped by the rate limit",
            m.rate_limited.clone(),
        );
        registry.register(
            "closed_sockets",
            "Signaling sockets the server closed, by reason",
            m.closed.clone(),
        );
        registry.register(
            "reloads",
            "New app versions announced by live reload",
            m.reloads.clone(),
        );
        registry.register(
            "certificate_expiry_timestamp_seconds",
            "When the server certificate expires (Unix time)",
            m.cert_expiry.clone(),
        );
        registry.register(
            "media_sessions",
            "Media server sessions (publishers and viewers)",
            m.media_sessions.clone(),
        );
        registry.register(
            "media_broadcasts",
            "Broadcasts the media server forwards",
            m.media_broadcasts.clone(),
        );
        registry.register(
            "media_packets_received",
            "Datagrams the media server received",
            m.media_packets_in.clone(),
        );
        registry.register(
            "media_packets_sent",
            "Datagrams the media server sent",
            m.media_packets_out.clone(),
        );
        registry.register(
            "media_bytes_sent",
            "Bytes the media server sent",
            m.media_bytes_out.clone(),
        );
        registry.register(
            "media_unknown_dropped",
            "Datagrams dropped as belonging to no session",
            m.media_unknown_dropped.clone(),
        );
        registry.register(
            "media_send_dropped",
            "Datagrams the kernel refused (send buffer full)",
            m.media_send_dropped.clone(),
        );
        registry.register(
            "pipes_waiting",
            "File-transfer pipes issued whose two ends have not both connected",
            m.pipes_waiting.clone(),
        );
        registry.register(
            "pipes_running",
            "File-transfer pipes carrying a transfer now",
            m.pipes_running.clone(),
        );
        registry.register(
            "pipes_connected",
            "File-transfer pipes whose two ends connected",
            m.pipes_connected.clone(),
        );
        registry.register(
            "pipe_bytes",
            "Bytes the file-transfer pipes carried, both directions",
            m.pipe_bytes.clone(),
        );
        Metrics { registry, ..m }
    }
}

impl Metrics {
    pub fn connection(&self, kind: &'static str) {
        self.connections.get_or_create(&Kind { kind }).inc();
    }

    pub fn error(&self, code: &'static str) {
        self.errors.get_or_create(&Code { code }).inc();
    }

    pub fn closed(&self, reason: &'static str) {
        self.closed.get_or_create(&Reason { reason }).inc();
    }

    /// The text a scrape gets, with levels read now.
    fn render(&self, app: &App) -> String {
        let (peers, identified, rooms) = app.hub.counts();
        self.peers.set(peers as i64);
        self.identified.set(identified as i64);
        self.rooms.set(rooms as i64);
        if let Some(t) = app.cert.not_after() {
            self.cert_expiry.set(t);
        }
        let pipes = app.hub.pipes();
        let (waiting, running) = pipes.counts();
        self.pipes_waiting.set(waiting as i64);
        self.pipes_running.set(running as i64);
        let _one_at_a_time = self.scrape_sync.lock().unwrap_or_else(|p| p.into_inner());
        let carried = pipes.carried();
        for (counter, now) in [
            (&self.pipes_connected, &carried.pipes),
            (&self.pipe_bytes, &carried.bytes),
        ] {
            counter.inc_by(now.load(Ordering::Relaxed).saturating_sub(counter.get()));
        }
        if let Some(media) = &app.media {
            let c = media.counters();
            let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
            self.media_sessions.set(get(&c.sessions) as i64);
            self.media_broadcasts.set(get(&c.broadcasts) as i64);
            for (counter, now) in [
                (&self.media_packets_in, get(&c.packets_in)),
                (&self.media_packets_out, get(&c.packets_out)),
                (&self.media_bytes_out, get(&c.bytes_out)),
                (&self.media_unknown_dropped, get(&c.unknown_dropped)),
                (&self.media_send_dropped, get(&c.send_dropped)),
            ] {
                counter.inc_by(now.saturating_sub(counter.get()));
            }
        }
        let mut out = String::new();
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

/// Answers `/metrics` and `/healthz` (`None` for other paths).
pub fn route(
    path: &str,
    uri: &Uri,
    headers: &HeaderMap,
    remote: IpAddr,
    app: &App,
) -> Option<Response<Body>> {
    if path != METRICS_PATH && path != HEALTH_PATH {
        return None;
    }
    if !allowed(uri, headers, remote, app) {
        return Some(text_response(
            StatusCode::UNAUTHORIZED,
            "This needs the access key from another machine: send Authorization: Bearer <key>, or add ?key=… (on this machine it is open).\n",
        ));
    }
    Some(if path == HEALTH_PATH {
        text_response(StatusCode::OK, "ok\n")
    } else {
        response(
            StatusCode::OK,
            prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            app.hub.metrics().render(app),
        )
    })
}

fn allowed(uri: &Uri, headers: &HeaderMap, remote: IpAddr, app: &App) -> bool {
    let Some(key) = &app.access else { return true };
    if remote.is_loopback() || remote.to_canonical().is_loopback() {
        return true;
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|b| key.matches(b.trim()));
    bearer || crate::access::check(key, app.port, uri, headers, true).is_none()
}
