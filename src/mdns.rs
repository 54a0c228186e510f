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
    host: String,
    port: u16,
}

/// Re-announces the service when the machine's addresses change.
pub struct Follower {
    daemon: ServiceDaemon,
    host: String,
    port: u16,
}

fn service(host: &str, port: u16, addresses: &[IpAddr]) -> Result<ServiceInfo> {
    let properties = [
        ("path", "/"),
        ("rtc", "/rtc"),
        ("version", env!("CARGO_PKG_VERSION")),
    ];
    ServiceInfo::new(
        SERVICE_TYPE,
        &instance_name(host),
        &format!("{host}.local."),
        addresses,
        port,
        &properties[..],
    )
    .context("the mDNS service description is invalid")
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
    let info = service(host, port, &addresses)?;
    let fullname = info.get_fullname().to_string();
    daemon
        .register(info)
        .context("the mDNS service could not be registered")?;
    info!(service = %fullname, ?addresses, "announcing over mDNS");
    Ok(Announcer {
        daemon,
        fullname,
        host: host.to_string(),
        port,
    })
}

impl Follower {
    /// Announces `addresses` in place of the old ones (mdns-sd replaces a
    /// service registered again under the same name, and tells the network).
    pub fn addresses(&self, addresses: Vec<IpAddr>) {
        match service(&self.host, self.port, &addresses).and_then(|info| {
            self.daemon
                .register(info)
                .context("the mDNS service could not be registered again")
        }) {
            Ok(()) => info!(?addresses, "announcing the new addresses over mDNS"),
            Err(err) => tracing::warn!(
                "{err:#}; devices may not find this server by name at its new address"
            ),
        }
    }
}

impl Announcer {
    /// A handle that re-announces the service with new addresses.
    pub fn follower(&self) -> Follower {
        Follower {
            daemon: self.daemon.clone(),
            host: self.host.clone(),
            port: self.port,
        }
    }

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
