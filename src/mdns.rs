//! The mDNS announcement: `HOST.local` resolves to this machine, and an
//! `_https._tcp` service named "lanrtc on HOST" shows up in any DNS-SD browser,
//! with TXT records saying where the app and the signaling socket are.
//!
//! mDNS is a convenience: if it cannot start (no multicast-capable interface),
//! the server logs one warning and keeps serving.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use mdns_sd::{IfKind, ServiceDaemon, ServiceInfo};
use tracing::{debug, info};

/// The DNS-SD service type: the app is an HTTPS site.
pub const SERVICE_TYPE: &str = "_https._tcp.local.";

/// The instance name a person sees in a service browser.
pub fn instance_name(host: &str) -> String {
    format!("lanrtc on {host}")
}

/// A running announcement; [`Announcer::stop`] says goodbye.
pub struct Announcer {
    daemon: ServiceDaemon,
    fullname: String,
}

/// Registers the service for `host` on `port`, on every interface or only on
/// the named ones, with the given addresses.
pub fn start(
    host: &str,
    port: u16,
    interfaces: &[String],
    addresses: Vec<IpAddr>,
) -> Result<Announcer> {
    let daemon = ServiceDaemon::new().context("the mDNS responder could not start")?;
    if !interfaces.is_empty() {
        daemon
            .disable_interface(IfKind::All)
            .context("could not limit mDNS to MDNS_INTERFACES")?;
        for name in interfaces {
            daemon
                .enable_interface(IfKind::Name(name.clone()))
                .with_context(|| format!("could not enable mDNS on {name}"))?;
        }
    }
    let properties = [
        ("path", "/"),
        ("rtc", "/rtc"),
        ("version", env!("CARGO_PKG_VERSION")),
    ];
    let info = ServiceInfo::new(
        SERVICE_TYPE,
        &instance_name(host),
        &format!("{host}.local."),
        &addresses[..],
        port,
        &properties[..],
    )
    .context("the mDNS service description is invalid")?;
    let fullname = info.get_fullname().to_string();
    daemon
        .register(info)
        .context("the mDNS service could not be registered")?;
    info!(service = %fullname, ?addresses, "announcing over mDNS");
    Ok(Announcer { daemon, fullname })
}

impl Announcer {
    /// Unregisters the service (so browsers see it leave) and stops the
    /// responder, waiting at most `deadline` for each.
    pub async fn stop(self, deadline: Duration) {
        if let Ok(rx) = self.daemon.unregister(&self.fullname) {
            let status = tokio::time::timeout(deadline, rx.recv_async()).await;
            debug!(?status, "mDNS service unregistered");
        }
        if let Ok(rx) = self.daemon.shutdown() {
            let _ = tokio::time::timeout(deadline, rx.recv_async()).await;
        }
    }
}
