//! Keeps the server certificate current while the server runs, so an
//! appliance left on for months needs no restart when its network changes.
//!
//! Every [`crate::config::Limits::cert_recheck`] (10 s):
//! - with the generated authority, the LAN addresses are read again; a new
//!   address, or a certificate within 30 days of expiry, gets a new server
//!   certificate from the *same* authority ([`certs::renew`]).
//! - in both cases, new LAN addresses are logged and passed on: the mDNS
//!   announcement and the share link new pages get follow them.
//! - with `KEY`/`CERT`, the files are read again; when their bytes changed
//!   (an ACME client renewed them) they are checked as at start and swapped
//!   in. A pair that fails the checks is logged once and the old one kept.
//!
//! A swap only changes what new handshakes get (see [`ServerCert`]); open
//! connections go on with the certificate they started with.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::certs;
use crate::config::CertSource;
use crate::net;
use crate::tls::{self, ServerCert};

/// What the re-check needs to know.
pub struct Renewal {
    pub source: CertSource,
    pub host: String,
    pub port: u16,
    pub cert: Arc<ServerCert>,
    /// The authority's certificate, when the certificate is generated.
    pub authority: Option<tokio_rustls::rustls::pki_types::CertificateDer<'static>>,
    pub every: Duration,
}

/// Starts the re-check; `on_addresses` is told each new set of LAN
/// addresses.
pub fn spawn(
    renewal: Renewal,
    on_addresses: impl FnMut(&[IpAddr]) + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(run(renewal, on_addresses))
}

async fn run(renewal: Renewal, mut on_addresses: impl FnMut(&[IpAddr]) + Send) {
    let mut addresses = net::lan_addresses();
    let mut files = match &renewal.source {
        CertSource::Files { key, cert } => stamp(key, cert),
        CertSource::Generated { .. } => None,
    };
    // Said once per cause, not every 10 s.
    let mut last_problem: Option<String> = None;
    // The names a fresh certificate could not cover (the authority itself
    // about to expire, or replaced on disk): not issued again every 10 s.
    let mut gave_up: Option<Vec<String>> = None;
    let mut ticks = tokio::time::interval(renewal.every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await; // the first tick is immediate; start is already checked
    loop {
        ticks.tick().await;
        let now = net::lan_addresses();
        if now != addresses {
            let urls: Vec<String> = now
                .iter()
                .map(|ip| net::url_for(*ip, renewal.port))
                .collect();
            info!(?urls, "the LAN addresses changed");
            on_addresses(&now);
            addresses = now;
        }
        let outcome = match &renewal.source {
            CertSource::Generated { dir } => {
                check_generated(&renewal, dir, &addresses, &mut gave_up).await
            }
            CertSource::Files { key, cert } => {
                let now = stamp(key, cert);
                if now == files {
                    continue;
                }
                files = now;
                match tls::from_files(key, cert) {
                    Ok(material) => {
                        renewal.cert.replace(material);
                        info!(cert = %cert.display(), "KEY and CERT changed on disk; new connections get the new certificate");
                        Ok(())
                    }
                    Err(err) => Err(format!(
                        "{err:#}; new connections keep the certificate loaded before"
                    )),
                }
            }
        };
        match outcome {
            Ok(()) => last_problem = None,
            Err(problem) => {
                if last_problem.as_deref() != Some(&problem) {
                    warn!("{problem}");
                    last_problem = Some(problem);
                }
            }
        }
    }
}

/// Issues and swaps in a new certificate when the one being served no
/// longer covers this host's names and `addresses`, or is near expiry.
async fn check_generated(
    renewal: &Renewal,
    dir: &Path,
    addresses: &[IpAddr],
    gave_up: &mut Option<Vec<String>>,
) -> Result<(), String> {
    let names = certs::server_names_for(&renewal.host, addresses);
    let covers = |leaf: Option<&tokio_rustls::rustls::pki_types::CertificateDer<'static>>| match (
        &renewal.authority,
        leaf,
    ) {
        (Some(ca), Some(leaf)) => certs::covers(ca, leaf, &names),
        _ => false,
    };
    if covers(renewal.cert.chain().first()) {
        return Ok(());
    }
    if gave_up.as_ref() == Some(&names) {
        return Ok(()); // already said; tried again when the names change
    }
    let wanted = names.clone();
    let for_issue = names.clone();
    let dir: PathBuf = dir.to_path_buf();
    // Key generation and file writes: off the async threads.
    let issued = tokio::task::spawn_blocking(move || {
        certs::renew(&dir, &for_issue).and_then(|generated| tls::generated(&dir, generated))
    })
    .await;
    match issued {
        Ok(Ok(material)) if !covers(material.leaf()) => {
            *gave_up = Some(wanted);
            Err("a new server certificate from the authority still would not be trusted by the devices (the authority expires within 30 days, or ca.pem was replaced while the server ran); restart to use what is on disk, or make a new authority".to_string())
        }
        Ok(Ok(material)) => {
            renewal.cert.replace(material);
            info!(
                ?addresses,
                "issued a new server certificate from the same authority; new connections get it"
            );
            Ok(())
        }
        Ok(Err(err)) => Err(format!("{err:#}")),
        Err(err) => Err(format!("issuing a new server certificate failed: {err}")),
    }
}

/// A digest of both files' bytes, `None` while either cannot be read.
/// Contents rather than times: a renewal within the same second, or a copy
/// that keeps the old time, is still seen.
fn stamp(key: &Path, cert: &Path) -> Option<Vec<u8>> {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    for path in [key, cert] {
        let bytes = std::fs::read(path).ok()?;
        context.update(&(bytes.len() as u64).to_le_bytes());
        context.update(&bytes);
    }
    Some(context.finish().as_ref().to_vec())
}
