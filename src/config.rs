//! Configuration in two stages: [`Settings`] is what the user wrote (environment
//! variables, or the flags that mirror them), kept as raw strings; [`Config`] is
//! the validated result the server runs with, produced by [`Config::load`],
//! which also does the start-up I/O (reading or generating certificates).
//!
//! Every validation error is one sentence naming the variable, the bad value and
//! the fix, because it is the first thing a person sees when they get it wrong.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::Parser;

use crate::access::AccessKey;
use crate::assets::Assets;
use crate::tls::{self, Tls};

/// The raw settings. Every field is an environment variable with a mirroring flag.
#[derive(Parser, Debug, Clone, Default)]
#[command(
    name = "lanrtc",
    version,
    about = "Video calls between the phones and laptops on one network: start it, open the URL it prints on each device.",
    after_help = "Every option can also be given as the environment variable shown in brackets, or the same name with LANRTC_ in front (LANRTC_HOST, LANRTC_PORT), which wins over the bare one; a flag wins over both."
)]
pub struct Settings {
    /// Name the server advertises: printed in URLs, put in the certificate, announced as HOST.local [default: this machine's hostname]
    #[arg(long, env = "HOST", value_name = "NAME")]
    pub host: Option<String>,

    /// TCP port for HTTPS (and the plain-HTTP redirect); 0 picks a free one [default: 8443]
    #[arg(long, env = "PORT")]
    pub port: Option<String>,

    /// Listen address: 0.0.0.0 (all IPv4), :: (IPv6, and IPv4 where the system allows), or one address such as 127.0.0.1 [default: 0.0.0.0]
    #[arg(long, env = "BIND", value_name = "ADDR")]
    pub bind: Option<String>,

    /// PEM private key for a certificate you provide (PKCS#8, PKCS#1 or SEC1); needs CERT
    #[arg(long, env = "KEY", value_name = "FILE")]
    pub key: Option<PathBuf>,

    /// PEM certificate chain for KEY, server certificate first; needs KEY
    #[arg(long, env = "CERT", value_name = "FILE")]
    pub cert: Option<PathBuf>,

    /// Where the local certificate authority and the server certificate it signs are kept [default: certs, or $STATE_DIRECTORY/certs under systemd]
    #[arg(long, env = "CERTS_DIR", value_name = "DIR")]
    pub certs_dir: Option<PathBuf>,

    /// Serve the web app from this directory, read on every request, instead of the copy built into the binary
    #[arg(long, env = "PUBLIC_DIR", value_name = "DIR")]
    pub public_dir: Option<PathBuf>,

    /// STUN/TURN servers handed to browsers, comma separated (stun:host:3478,turn:host:3478); none are needed on a LAN [default: none]
    #[arg(long, env = "ICE_SERVERS", value_name = "URLS")]
    pub ice_servers: Option<String>,

    /// User name for the TURN servers in ICE_SERVERS (browsers refuse TURN without one)
    #[arg(long, env = "ICE_USERNAME", value_name = "NAME")]
    pub ice_username: Option<String>,

    /// Credential (password) for the TURN servers in ICE_SERVERS
    #[arg(long, env = "ICE_CREDENTIAL", value_name = "SECRET")]
    pub ice_credential: Option<String>,

    /// Signaling messages per second allowed per connection, with a burst of five seconds' worth; 0 turns the limit off [default: 20]
    #[arg(long, env = "RATE_LIMIT", value_name = "N")]
    pub rate_limit: Option<String>,

    /// Most signaling connections held at once; the next one is refused with 503 [default: 10000]
    #[arg(long, env = "MAX_PEERS", value_name = "N")]
    pub max_peers: Option<String>,

    /// Announce HOST.local and the service over mDNS: on or off [default: on]
    #[arg(long, env = "MDNS", value_name = "on|off")]
    pub mdns: Option<String>,

    /// Same as MDNS=off
    #[arg(long = "no-mdns")]
    pub no_mdns: bool,

    /// Announce only on these interfaces, comma separated (e.g. wlan0) [default: all]
    #[arg(long, env = "MDNS_INTERFACES", value_name = "NAMES")]
    pub mdns_interfaces: Option<String>,

    /// Let in only devices given the link with this key (it is put in the printed URLs and QR code); `auto` makes a random one at each start [default: none, anyone on the network can join]
    #[arg(long, env = "ACCESS_KEY", value_name = "KEY|auto")]
    pub access_key: Option<String>,

    /// The media server (broadcasts forwarded by this machine, WHIP and WHEP): on or off; off makes "Go live" stream from the device itself, to a few viewers [default: on]
    #[arg(long, env = "MEDIA", value_name = "on|off")]
    pub media: Option<String>,

    /// UDP port of the media server, on the BIND address; 0 picks a free one [default: the same number as PORT]
    #[arg(long, env = "MEDIA_PORT")]
    pub media_port: Option<String>,

    /// Most viewers of one broadcast through the media server, app and WHEP together [default: 200]
    #[arg(long, env = "MAX_VIEWERS", value_name = "N")]
    pub max_viewers: Option<String>,

    /// Most members of one room's meeting (a group call through the media server) [default: 16]
    #[arg(long, env = "MAX_MEETING", value_name = "N")]
    pub max_meeting: Option<String>,

    /// Most TCP connections one address may hold open; 0 for no limit [default: 256]
    #[arg(long, env = "MAX_CONNECTIONS_PER_ADDRESS", value_name = "N")]
    pub max_connections_per_address: Option<String>,

    /// Most TLS handshakes one address may have in progress; 0 for no limit [default: 32]
    #[arg(long, env = "MAX_HANDSHAKES_PER_ADDRESS", value_name = "N")]
    pub max_handshakes_per_address: Option<String>,

    /// Most signaling connections one address may hold, and never more than half of MAX_PEERS; 0 for just that half [default: 64]
    #[arg(long, env = "MAX_PEERS_PER_ADDRESS", value_name = "N")]
    pub max_peers_per_address: Option<String>,

    /// Log filter, e.g. info, debug or lanrtc=debug [default: info]
    #[arg(long = "log", env = "RUST_LOG", value_name = "FILTER")]
    pub log: Option<String>,
}

/// The prefix that makes a setting this program's own: `HOST` and `PORT`
/// are also set by some shells (tcsh exports `HOST`) and dev tools, so
/// `LANRTC_HOST` and the like win over the bare names.
pub const ENV_PREFIX: &str = "LANRTC_";

/// Copies every `LANRTC_<NAME>` onto `<NAME>` before the settings are read,
/// and says which settings came from the environment: `NAME`, or
/// `NAME (LANRTC_NAME)`. Call it first thing in `main`, while the process
/// has one thread.
pub fn apply_prefixed_env() -> Vec<String> {
    use clap::CommandFactory;
    let names: Vec<String> = Settings::command()
        .get_arguments()
        .filter_map(|a| a.get_env())
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    let mut from_env = Vec::new();
    for name in names {
        let prefixed = format!("{ENV_PREFIX}{name}");
        if let Some(value) = std::env::var_os(&prefixed) {
            std::env::set_var(&name, value);
            from_env.push(format!("{name} ({prefixed})"));
        } else if std::env::var_os(&name).is_some() {
            from_env.push(name);
        }
    }
    from_env
}

/// Where the server certificate comes from.
#[derive(Debug, Clone)]
pub enum CertSource {
    /// `KEY` and `CERT` given by the user.
    Files { key: PathBuf, cert: PathBuf },
    /// Generated from the local authority kept in this directory.
    Generated { dir: PathBuf },
}

/// Timing and sizing knobs of the signaling socket. The defaults are what a
/// deployment wants; tests shorten them.
#[derive(Debug, Clone)]
pub struct Limits {
    /// How long a new connection may take to send its first byte and finish the
    /// TLS handshake before it is dropped, so a silent socket cannot hold a task.
    pub handshake_timeout: Duration,
    /// How often the server pings each signaling socket.
    pub ping_interval: Duration,
    /// A signaling socket from which nothing (pong or message) arrived for this
    /// long is dropped: two missed pings plus slack for a slow phone.
    pub idle_timeout: Duration,
    /// Messages per second per connection; 0 disables the limiter.
    pub rate_limit: u32,
    /// Most signaling connections at once.
    pub max_peers: usize,
    /// Frames that may wait in one connection's outbound queue before that
    /// client counts as not reading and is disconnected.
    pub outbound_queue: usize,
    /// Bytes that may wait in one connection's outbound queue: the memory a
    /// client that stops reading can cost, whatever the size of its messages.
    pub outbound_bytes: usize,
    /// How long shutdown waits for in-flight requests and close frames.
    pub shutdown_grace: Duration,
    /// Per source address (0 = no limit): open TCP connections, TLS
    /// handshakes in progress, signaling connections (at most half of
    /// `max_peers` whatever this says).
    pub per_address: [usize; 3],
    /// A write to a client that makes no progress for this long ends the
    /// connection: the client stopped reading.
    pub write_timeout: Duration,
    /// How often the server certificate is checked against the LAN
    /// addresses, its expiry and the `KEY`/`CERT` files (see
    /// [`crate::renew`]).
    pub cert_recheck: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            handshake_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(45),
            rate_limit: DEFAULT_RATE_LIMIT,
            max_peers: DEFAULT_MAX_PEERS,
            // A join storm of a few thousand peers queues one announcement per
            // newcomer for everyone; 4096 absorbs that, while a client that reads
            // nothing at all fills it (plus its socket buffers) and is cut off.
            outbound_queue: 4096,
            // Enough for the peer list of a 10,000-person room (~1 MiB) or
            // dozens of large SDPs; a stalled client costs no more than this.
            outbound_bytes: 2 * 1024 * 1024,
            shutdown_grace: Duration::from_secs(5),
            per_address: DEFAULT_PER_ADDRESS,
            // Long enough for a phone on poor Wi-Fi to take the largest
            // file; short enough that a stuck client is gone within a minute.
            write_timeout: Duration::from_secs(30),
            // A phone that scans the QR code right after the laptop joined
            // another network waits at most this long for a certificate that
            // names the new address; each check is a few stat calls.
            cert_recheck: Duration::from_secs(10),
        }
    }
}

/// Default port: the conventional alternative HTTPS port, needing no root.
pub const DEFAULT_PORT: u16 = 8443;
/// 20 messages a second (burst of 100) is several times what a call needs, ICE
/// candidate burst included, and small enough that a flooder is noticed.
pub const DEFAULT_RATE_LIMIT: u32 = 20;
/// Above this a limit limits nothing; it also keeps the bucket arithmetic small.
pub const MAX_RATE_LIMIT: u32 = 100_000;
/// Per-address defaults no household device reaches: a browser opens a few
/// connections and one signaling socket; a phone reconnecting in a loop, or
/// a scanner, hits these long before it can crowd anyone else out.
pub const DEFAULT_PER_ADDRESS: [usize; 3] = [256, 32, 64];

/// Default connection cap: well above any LAN, low enough to bound memory.
pub const DEFAULT_MAX_PEERS: usize = 10_000;

/// 200 viewers of one 2 Mbit/s stream is 400 Mbit/s of forwarding: about what
/// a small box's Ethernet and one core carry (README, "Media server").
pub const DEFAULT_MAX_VIEWERS: usize = 200;
/// Above this one broadcast would need more than a gigabit link.
pub const MAX_MAX_VIEWERS: usize = 10_000;

/// Sixteen people each receiving fifteen streams is what a phone's screen
/// and a small box's Wi-Fi carry (README, "Meetings").
pub const DEFAULT_MAX_MEETING: usize = 16;
/// Past this a grid of tiles is unusable and every member would receive
/// more streams than a phone can decode.
pub const MAX_MAX_MEETING: usize = 32;

/// The media server's settings, when it is on.
#[derive(Debug, Clone)]
pub struct MediaSettings {
    /// UDP port; `None` means "the same number as the TCP port".
    pub port: Option<u16>,
    pub max_viewers: usize,
    pub max_meeting: usize,
    /// A session from which nothing arrived for this long is removed.
    /// Browsers send a consent check every ~5 s (RFC 7675), so 30 s is six
    /// missed checks: a closed laptop or a phone off the Wi-Fi. Tests shorten it.
    pub silence: Duration,
}

/// The validated configuration the server runs with.
#[derive(Clone)]
pub struct Config {
    /// The name announced as `HOST.local`: the first label of `HOST`.
    pub host: String,
    /// `HOST` as given (`box.example.com`), or the same as `host`; it goes
    /// into the certificate.
    pub host_name: String,
    pub bind: SocketAddr,
    pub cert_source: CertSource,
    pub tls: Tls,
    pub assets: Assets,
    pub ice_servers: Vec<String>,
    /// mDNS: `None` is off; `Some(names)` announces on those interfaces (all
    /// when empty).
    pub mdns: Option<Vec<String>>,
    /// Credentials for TURN entries of `ice_servers`.
    pub ice_credentials: Option<(String, String)>,
    /// `ACCESS_KEY`; `None` means anyone on the network can join.
    pub access: Option<AccessKey>,
    /// `MEDIA`: `None` is off (live streams go device to device).
    pub media: Option<MediaSettings>,
    pub limits: Limits,
    /// Which settings came from the environment, for the banner (see
    /// [`apply_prefixed_env`]); empty when none did or nobody asked.
    pub from_env: Vec<String>,
}

impl Config {
    /// Validates the settings and does the start-up I/O: reads `KEY`/`CERT`, or
    /// creates and reuses the local authority in `CERTS_DIR`.
    pub fn load(s: &Settings) -> Result<Config> {
        let (host, host_name) = match &s.host {
            Some(h) => parse_host(h)?,
            None => {
                let label = default_host();
                (label.clone(), label)
            }
        };
        let port = match &s.port {
            Some(p) => parse_port(p)?,
            None => DEFAULT_PORT,
        };
        let bind_ip = match &s.bind {
            Some(b) => parse_bind(b)?,
            None => IpAddr::from([0, 0, 0, 0]),
        };
        let ice_servers = match &s.ice_servers {
            Some(v) => parse_ice_servers(v)?,
            None => Vec::new(),
        };
        let ice_credentials = match (&s.ice_username, &s.ice_credential) {
            (Some(u), Some(c)) => Some((u.clone(), c.clone())),
            (None, None) => None,
            _ => bail!("only one of ICE_USERNAME and ICE_CREDENTIAL is set; set both for your TURN server, or neither"),
        };
        if let Some(turn) = ice_servers
            .iter()
            .find(|u| u.to_ascii_lowercase().starts_with("turn"))
        {
            if ice_credentials.is_none() {
                bail!("ICE_SERVERS lists the TURN server {turn:?} but ICE_USERNAME and ICE_CREDENTIAL are not set; browsers refuse TURN servers without credentials, so set both (or use only stun: URLs)");
            }
        }
        let mdns = parse_mdns(s)?;
        let mut limits = Limits::default();
        if let Some(v) = &s.rate_limit {
            limits.rate_limit = parse_number::<u32>(
                "RATE_LIMIT",
                v,
                "a whole number of messages per second up to 100000, or 0 to turn the limit off",
            )?;
            if limits.rate_limit > MAX_RATE_LIMIT {
                bail!("RATE_LIMIT is {v:?}, more than the {MAX_RATE_LIMIT} messages per second a limit can mean; use a smaller number, or 0 to turn the limit off");
            }
        }
        if let Some(v) = &s.max_peers {
            limits.max_peers = parse_number("MAX_PEERS", v, "a positive number of connections")?;
            if limits.max_peers == 0 {
                bail!("MAX_PEERS is 0, which would refuse every device; set it to a positive number such as {DEFAULT_MAX_PEERS}");
            }
        }
        for (i, (name, value)) in [
            (
                "MAX_CONNECTIONS_PER_ADDRESS",
                &s.max_connections_per_address,
            ),
            ("MAX_HANDSHAKES_PER_ADDRESS", &s.max_handshakes_per_address),
            ("MAX_PEERS_PER_ADDRESS", &s.max_peers_per_address),
        ]
        .into_iter()
        .enumerate()
        {
            if let Some(v) = value {
                limits.per_address[i] =
                    parse_number(name, v, "a whole number, or 0 for no limit per address")?;
            }
        }
        let access = match &s.access_key {
            Some(v) => AccessKey::parse(v)?,
            None => None,
        };
        let media = parse_media(s)?;
        let cert_source = match (&s.key, &s.cert) {
            (Some(key), Some(cert)) => CertSource::Files { key: key.clone(), cert: cert.clone() },
            (None, Some(cert)) => bail!(
                "CERT is set ({}) but KEY is not; set KEY to the private key that belongs to that certificate, or unset CERT to use a generated certificate",
                cert.display()
            ),
            (Some(key), None) => bail!(
                "KEY is set ({}) but CERT is not; set CERT to the certificate chain that belongs to that key, or unset KEY to use a generated certificate",
                key.display()
            ),
            (None, None) => CertSource::Generated {
                dir: s.certs_dir.clone().unwrap_or_else(default_certs_dir),
            },
        };
        let assets = match &s.public_dir {
            Some(dir) => Assets::from_dir(dir)?,
            None => Assets::default_for_build(),
        };
        let tls = tls::load(&cert_source, &host_name)?;
        Ok(Config {
            host,
            host_name,
            bind: SocketAddr::new(bind_ip, port),
            cert_source,
            tls,
            assets,
            ice_servers,
            ice_credentials,
            mdns,
            access,
            media,
            limits,
            from_env: Vec::new(),
        })
    }

    /// Whether devices are first sent to the plain-HTTP landing that checks
    /// trust (see [`crate::trust`]): only with the generated authority (a
    /// certificate from `KEY`/`CERT` needs no trusting) and without an access
    /// key (a link carrying the key stays https: a plain page could be
    /// rewritten on its way by someone on the LAN, and read the key even from
    /// the fragment).
    pub fn offers_landing(&self) -> bool {
        self.tls.authority.is_some() && self.access.is_none()
    }

    /// The `iceServers` array sent in `ready`, built once.
    pub fn ice_servers_json(&self) -> serde_json::Value {
        let servers = self.ice_servers.iter().map(|url| {
            let mut server = serde_json::json!({ "urls": url });
            if let (true, Some((user, credential))) = (
                url.to_ascii_lowercase().starts_with("turn"),
                &self.ice_credentials,
            ) {
                server["username"] = user.clone().into();
                server["credential"] = credential.clone().into();
            }
            server
        });
        serde_json::Value::Array(servers.collect())
    }
}

/// The machine's hostname, cut at the first dot and lowercased, or `lanrtc`
/// when it has none usable.
/// `certs` in the current directory, or in the service's state directory
/// when systemd gives one (`StateDirectory=` sets `STATE_DIRECTORY`, a
/// colon-separated list whose first entry is the unit's own).
fn default_certs_dir() -> PathBuf {
    match std::env::var_os("STATE_DIRECTORY") {
        Some(dirs) if !dirs.is_empty() => {
            let first = std::env::split_paths(&dirs).next().unwrap_or_default();
            first.join("certs")
        }
        _ => PathBuf::from("certs"),
    }
}

fn default_host() -> String {
    let raw = gethostname::gethostname().to_string_lossy().to_lowercase();
    let short = raw.split('.').next().unwrap_or_default();
    if valid_label(short) {
        short.to_string()
    } else {
        "lanrtc".to_string()
    }
}

/// A DNS label usable as a host name: letters, digits and inner hyphens, and
/// not all digits (browsers would read `1234` as an IPv4 address).
fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && !label.bytes().all(|b| b.is_ascii_digit())
        && label.len() <= 63
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// `HOST` as (its first label, the whole name): `kitchen` is both;
/// `box.example.com` is announced as `box.local` and both go into the
/// certificate. A trailing dot and a `.local` suffix are dropped.
fn parse_host(value: &str) -> Result<(String, String)> {
    let full = value.trim().trim_end_matches('.').to_lowercase();
    let full = full.strip_suffix(".local").unwrap_or(&full).to_string();
    let labels: Vec<&str> = full.split('.').collect();
    let last_numeric = labels
        .last()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()));
    if full.len() > 253 || last_numeric || !labels.iter().all(|l| valid_label(l)) {
        bail!(
            "HOST is {value:?}, which is not a usable host name; use a name such as \"kitchen\" or \"box.example.com\" (labels of 1-63 letters, digits or hyphens, not only digits; an IP address goes in BIND), since it becomes HOST.local and goes into the certificate"
        );
    }
    Ok((labels[0].to_string(), full))
}

fn parse_port(value: &str) -> Result<u16> {
    value.trim().parse::<u16>().map_err(|_| {
        anyhow::anyhow!("PORT is {value:?}, which is not a port number; use a number from 1 to 65535, or 0 to pick a free port")
    })
}

fn parse_bind(value: &str) -> Result<IpAddr> {
    let trimmed = value.trim().trim_start_matches('[').trim_end_matches(']');
    trimmed.parse::<IpAddr>().map_err(|_| {
        anyhow::anyhow!("BIND is {value:?}, which is not an IP address; use 0.0.0.0 for all IPv4 interfaces, :: for IPv6, or one address such as 127.0.0.1 (set the port with PORT)")
    })
}

fn parse_number<T: std::str::FromStr>(name: &str, value: &str, what: &str) -> Result<T> {
    value
        .trim()
        .parse::<T>()
        .map_err(|_| anyhow::anyhow!("{name} is {value:?}, which is not allowed; use {what}"))
}

fn parse_mdns(s: &Settings) -> Result<Option<Vec<String>>> {
    let on = !s.no_mdns
        && parse_on_off(
            "MDNS",
            s.mdns.as_deref(),
            "MDNS=off (or --no-mdns) to stop announcing",
        )?;
    if !on {
        return Ok(None);
    }
    let names: Vec<String> = s
        .mdns_interfaces
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(String::from)
        .collect();
    let known = crate::net::interface_names();
    if let Some(unknown) = names.iter().find(|n| !known.contains(n)) {
        bail!(
            "MDNS_INTERFACES names {unknown:?}, which this machine does not have; use some of: {}",
            known.join(", ")
        );
    }
    Ok(Some(names))
}

fn parse_on_off(name: &str, value: Option<&str>, off_hint: &str) -> Result<bool> {
    match value.map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(true),
        Some(v) if ["on", "true", "1", "yes"].contains(&v.as_str()) => Ok(true),
        Some(v) if ["off", "false", "0", "no"].contains(&v.as_str()) => Ok(false),
        Some(_) => bail!(
            "{name} is {:?}, which is neither on nor off; use {off_hint}, or leave it unset",
            value.unwrap_or_default()
        ),
    }
}

fn parse_media(s: &Settings) -> Result<Option<MediaSettings>> {
    if !parse_on_off(
        "MEDIA",
        s.media.as_deref(),
        "MEDIA=off to stream from the devices themselves",
    )? {
        return Ok(None);
    }
    let port = match &s.media_port {
        Some(v) => Some(v.trim().parse::<u16>().map_err(|_| {
            anyhow::anyhow!("MEDIA_PORT is {v:?}, which is not a port number; use a UDP port from 1 to 65535, 0 to pick a free one, or leave it unset to use the same number as PORT")
        })?),
        None => None,
    };
    let max_viewers = match &s.max_viewers {
        Some(v) => {
            let n: usize = parse_number(
                "MAX_VIEWERS",
                v,
                "a positive number of viewers per broadcast",
            )?;
            if n == 0 || n > MAX_MAX_VIEWERS {
                bail!("MAX_VIEWERS is {v:?}; use a number from 1 to {MAX_MAX_VIEWERS} (the default is {DEFAULT_MAX_VIEWERS})");
            }
            n
        }
        None => DEFAULT_MAX_VIEWERS,
    };
    let max_meeting = match &s.max_meeting {
        Some(v) => {
            let n: usize = parse_number("MAX_MEETING", v, "a number of people from 2 to 32")?;
            if !(2..=MAX_MAX_MEETING).contains(&n) {
                bail!("MAX_MEETING is {v:?}; use a number from 2 to {MAX_MAX_MEETING} (the default is {DEFAULT_MAX_MEETING})");
            }
            n
        }
        None => DEFAULT_MAX_MEETING,
    };
    Ok(Some(MediaSettings {
        port,
        max_viewers,
        max_meeting,
        silence: Duration::from_secs(30),
    }))
}

/// Splits `ICE_SERVERS` into URLs, checking each names a STUN or TURN server.
fn parse_ice_servers(value: &str) -> Result<Vec<String>> {
    let mut urls = Vec::new();
    for url in value.split(',').map(str::trim).filter(|u| !u.is_empty()) {
        let ok_scheme = ["stun:", "stuns:", "turn:", "turns:"].iter().any(|scheme| {
            url.len() > scheme.len() && url[..scheme.len()].eq_ignore_ascii_case(scheme)
        });
        if !ok_scheme || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            bail!("ICE_SERVERS contains {url:?}, which is not a STUN or TURN URL; list URLs such as stun:stun.example.org:3478 separated by commas, or leave ICE_SERVERS unset on a LAN");
        }
        urls.push(url.to_string());
    }
    Ok(urls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names() {
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(parse_host("Kitchen").unwrap(), pair("kitchen", "kitchen"));
        assert_eq!(parse_host("box.local").unwrap(), pair("box", "box"));
        // Fully qualified names are normal (tcsh exports one as HOST).
        assert_eq!(
            parse_host("Box.Example.com").unwrap(),
            pair("box", "box.example.com")
        );
        assert_eq!(
            parse_host("box.example.com.").unwrap(),
            pair("box", "box.example.com")
        );
        assert_eq!(parse_host("a.b").unwrap(), pair("a", "a.b"));
        for bad in [
            "",
            "my host",
            "a/b",
            "-x",
            "x".repeat(64).as_str(),
            "a..b",
            ".a",
            "1234",
            "10.0.0.1",
            "box.-example.com",
            &format!("{}.com", "a.".repeat(130)),
        ] {
            let err = parse_host(bad).unwrap_err().to_string();
            assert!(err.starts_with("HOST is"), "{err}");
        }
    }

    #[test]
    fn ice_server_urls() {
        assert_eq!(
            parse_ice_servers("stun:a:3478, turn:b:3478?transport=udp").unwrap(),
            vec!["stun:a:3478", "turn:b:3478?transport=udp"]
        );
        assert!(parse_ice_servers("").unwrap().is_empty());
        let err = parse_ice_servers("http://x").unwrap_err().to_string();
        assert!(err.contains("ICE_SERVERS contains \"http://x\""), "{err}");
    }
}
