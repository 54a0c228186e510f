//! The start-up banner: every URL a device can use, the authority's
//! fingerprint and where the certificates live, plus a QR code of the first
//! LAN URL when a person is watching the terminal.

use std::fmt::Write;
use std::net::{IpAddr, SocketAddr};

use crate::config::{CertSource, Config};
use crate::net;

/// The URLs to offer, most useful first: LAN addresses (the default
/// route's interface first, virtual bridges left out), `HOST.local` when mDNS
/// announces it, then `localhost` (this machine only). Which appear depends
/// on the bind address. With an access key, each carries it.
pub fn urls(config: &Config, local: SocketAddr) -> Vec<String> {
    offered(config, local)
        .into_iter()
        .map(|(url, _)| url)
        .collect()
}

/// [`urls`] with what to print beside each: the interface, or "this machine
/// only".
fn offered(config: &Config, local: SocketAddr) -> Vec<(String, String)> {
    let with_key = |url: String| match &config.access {
        Some(key) => key.link(&url),
        None => url,
    };
    let mut urls: Vec<(String, String)> = landing_url(config, local).into_iter().collect();
    urls.extend(
        base_urls(config, local)
            .into_iter()
            .map(|(url, note)| (with_key(url), note)),
    );
    urls
}

/// The first URL and the QR code: the plain-HTTP landing on the best LAN
/// address, which checks that the device trusts the authority and then
/// opens the app (see [`crate::trust`]). Only with the generated authority
/// (a certificate from `KEY`/`CERT` needs no trusting) and without an access
/// key (see below).
fn landing_url(config: &Config, local: SocketAddr) -> Option<(String, String)> {
    if !config.offers_landing() {
        return None;
    }
    let plain = net::landing_origin(&net::lan_origin(local.ip(), local.port())?);
    Some((
        format!("{plain}/"),
        "start here: checks that the device trusts this server, then opens the app".into(),
    ))
}

fn base_urls(config: &Config, local: SocketAddr) -> Vec<(String, String)> {
    let port = local.port();
    let ip = local.ip();
    let (lan, _) = net::offered(ip);
    let mut urls: Vec<(String, String)> = lan
        .into_iter()
        .map(|a| (net::url_for(a.ip, port), a.interface))
        .collect();
    if !ip.is_loopback() && config.host_name.contains('.') {
        urls.push((
            format!("https://{}:{port}/", config.host_name),
            "DNS".into(),
        ));
    }
    if !ip.is_loopback() && config.mdns.is_some() {
        urls.push((
            format!("https://{}.local:{port}/", config.host),
            "mDNS".into(),
        ));
    }
    if ip.is_unspecified() || ip.is_loopback() {
        urls.push((
            format!("https://localhost:{port}/"),
            "this machine only".into(),
        ));
    }
    urls
}

/// The banner text (without the QR code).
pub fn render(config: &Config, local: SocketAddr) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "lanrtc {} is ready.", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(
        out,
        "Open one of these on a phone or laptop on this network:"
    );
    for (url, note) in offered(config, local) {
        let note = note.as_str();
        if note.is_empty() {
            let _ = writeln!(out, "  {url}");
        } else {
            let _ = writeln!(out, "  {url}   ({note})");
        }
    }
    let (_, skipped) = net::offered(local.ip());
    if !skipped.is_empty() {
        let list: Vec<String> = skipped
            .iter()
            .map(|a| format!("{} ({})", a.ip, a.interface))
            .collect();
        let _ = writeln!(
            out,
            "  Not offered, on virtual interfaces other devices usually cannot reach: {}",
            list.join(", ")
        );
    }
    match (&config.cert_source, &config.tls.authority) {
        (_, Some(authority)) => {
            let state = if authority.created {
                "created now"
            } else if authority.issued {
                "reused; new server certificate issued for the current names"
            } else {
                "reused"
            };
            let _ = writeln!(
                out,
                "Certificate authority: {} ({state})",
                authority.dir.join("ca.pem").display()
            );
            let _ = writeln!(out, "  SHA-256 fingerprint {}", authority.fingerprint);
            if let Some(first) = base_urls(config, local).first() {
                let plain = first.0.replacen("https://", "http://", 1);
                let _ = writeln!(out, "  Trust it once on each device: {plain}trust");
                if config.access.is_some() {
                    let _ = writeln!(
                        out,
                        "  A device that does not trust it yet: open {plain} first, then the link with the key"
                    );
                }
            }
        }
        (CertSource::Files { cert, .. }, None) => {
            let _ = writeln!(
                out,
                "Certificate: {} (from CERT; read again when it changes on disk)",
                cert.display()
            );
        }
        (CertSource::Generated { .. }, None) => {}
    }
    match &config.mdns {
        Some(interfaces) => {
            let scope = if interfaces.is_empty() {
                "every interface".to_string()
            } else {
                interfaces.join(", ")
            };
            let _ = writeln!(
                out,
                "mDNS: announcing https://{}.local:{}/ as \"{}\" on {scope}",
                config.host,
                local.port(),
                crate::mdns::instance_name(&config.host)
            );
        }
        None => {
            let _ = writeln!(out, "mDNS: off");
        }
    }
    match &config.media {
        Some(media) => {
            let port = media.port.unwrap_or(local.port());
            let port = if port == 0 {
                "a free UDP port".to_string()
            } else {
                format!("UDP port {port}")
            };
            let _ = writeln!(
                out,
                "Media server: {port}, up to {} viewers a broadcast; OBS and other WHIP tools publish to /whip/<room>, players watch /whep/<room>",
                media.max_viewers
            );
        }
        None => {
            let _ = writeln!(
                out,
                "Media server: off; live streams go from each device to its viewers"
            );
        }
    }
    let access = match &config.access {
        Some(_) => "only devices given a link above (it carries the key) can join",
        None => "open: anyone on this network can join (set ACCESS_KEY=auto to require a link)",
    };
    let _ = writeln!(out, "Access: {access}");
    let _ = writeln!(out, "App files: {}", config.assets.describe());
    if !config.from_env.is_empty() {
        let _ = writeln!(
            out,
            "Settings from the environment: {}",
            config.from_env.join(", ")
        );
    }
    let _ = writeln!(out, "Press Ctrl-C to stop.");
    out
}

/// A QR code of `url` drawn with half-block characters, two rows per line.
pub fn qr(url: &str) -> Option<String> {
    let code = qrcode::QrCode::new(url.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

/// The URL the QR code shows: the first LAN one, if any.
pub fn qr_url(config: &Config, local: SocketAddr) -> Option<String> {
    urls(config, local)
        .into_iter()
        .find(|u| !u.contains("://localhost:") && !u.contains(".local:"))
        .or_else(|| {
            (!IpAddr::is_loopback(&local.ip()) && config.mdns.is_some())
                .then(|| format!("https://{}.local:{}/", config.host, local.port()))
        })
}
