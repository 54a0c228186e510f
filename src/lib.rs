//! lanrtc: one binary that serves a video-call web app to the phones and
//! laptops on a LAN, over HTTPS, with WebSocket signaling at `/rtc`.
//!
//! Map of the crate (one concern per file):
//! - [`config`] — settings from environment variables and flags; validation.
//! - [`certs`] — the local certificate authority in `CERTS_DIR` and the server
//!   certificate it issues.
//! - [`tls`] — rustls configuration; loading `KEY`/`CERT`.
//! - [`renew`] — keeps the server certificate current while running: new
//!   LAN addresses, expiry, `KEY`/`CERT` changed on disk.
//! - [`net`] — the machine's LAN addresses, their interfaces, and which one
//!   to offer other devices.
//! - [`per_address`] — connections, handshakes and signaling sockets per
//!   source address, so one host cannot crowd out the others.
//! - [`assets`] — the web app's files (embedded or from disk), path confinement,
//!   content types, ETags, the asset version.
//! - [`reload`] — live reload: watches the asset directory and announces new
//!   versions to every connected client.
//! - [`http`] — the HTTP service (the router): routing, static files, room
//!   pages, security headers, plain-HTTP redirect.
//! - [`respond`] — the response helpers every route shares (a leaf module).
//! - [`app`] — what request handling shares: the hub, the assets, the
//!   limits, the key, the media server.
//! - [`access`] — `ACCESS_KEY`: the key check, its cookie and the 401 page.
//! - [`trust`] — `/ca.crt`, `/ca.mobileconfig`, the `/trust` page and the
//!   plain-HTTP landing that checks trust before opening the app.
//! - [`qr`] — `/qr.svg`, a QR code of a URL for the page to show.
//! - [`rtc`] — signaling at `/rtc`: upgrade, rooms, protocol, hub, rejoining, socket
//!   loop, rate limiting, meetings.
//! - [`media`] — the media server (SFU): one event loop that owns the UDP
//!   sockets and every WebRTC session, forwards each broadcast to its
//!   viewers and each meeting member's stream to the others (one simulcast
//!   layer per receiver), and works out who speaks.
//! - [`pipe`] — `/pipe/<token>`: a file transfer carried through the
//!   appliance between two devices that cannot reach each other.
//! - [`whip`] — WHIP and WHEP: publishing to and watching from the media
//!   server over HTTP.
//! - [`metrics`] — `/metrics` (Prometheus text) and `/healthz`.
//! - [`mdns`] — announcing `HOST.local` and the `_https._tcp` service.
//! - [`write_timeout`] — a write deadline around each connection, for
//!   clients that stop reading.
//! - [`server`] — `run`: the accept loop, per-connection tasks, shutdown.
//! - [`banner`] — what is printed at start.
//!
//! `main.rs` only reads the configuration, binds and calls [`server::run`];
//! tests start the same server in-process on `127.0.0.1:0`.

pub mod access;
pub mod app;
pub mod assets;
pub mod banner;
pub mod certs;
pub mod config;
pub mod http;
pub mod mdns;
pub mod media;
pub mod metrics;
pub mod net;
pub mod per_address;
pub mod pipe;
pub mod qr;
pub mod reload;
pub mod renew;
pub mod respond;
pub mod rtc;
pub mod server;
pub mod tls;
pub mod trust;
pub mod whip;
pub mod write_timeout;

pub use config::{Config, Settings};
pub use server::run;
