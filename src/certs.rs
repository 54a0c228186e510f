//! The local certificate authority in `CERTS_DIR`.
//!
//! Files: `ca.pem` + `ca-key.pem` (the authority a phone trusts once) and
//! `cert.pem` + `key.pem` (the server certificate it signs). Whatever is missing
//! is generated at start. When the server certificate no longer covers the
//! names and addresses the server answers to, or is about to expire, a new one
//! is issued from the *same* authority, so devices that trusted it keep doing so.
//! A new authority is only ever made when there is none.

use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use time::{Duration as TimeDuration, OffsetDateTime};
use tokio_rustls::rustls::client::danger::ServerCertVerifier;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::RootCertStore;

use crate::net;

/// The authority lasts ten years: trusting it is a chore done once per device.
const CA_LIFETIME_DAYS: i64 = 3650;
/// Server certificates last 397 days, the most Apple platforms accept for a
/// TLS server certificate.
const LEAF_LIFETIME_DAYS: i64 = 397;
/// A server certificate this close to expiry is replaced at start.
const RENEW_BEFORE_DAYS: u64 = 30;

/// The local authority as the rest of the server sees it.
#[derive(Debug, Clone)]
pub struct Authority {
    /// The authority certificate, served at `/ca.crt`.
    pub der: CertificateDer<'static>,
    /// SHA-256 of the DER, as colon-separated hex (what phones display).
    pub fingerprint: String,
    /// The directory the files live in.
    pub dir: PathBuf,
    /// A new authority was created on this start.
    pub created: bool,
    /// A new server certificate was issued on this start.
    pub issued: bool,
}

/// The result of [`ensure`]: what TLS needs plus the authority's description.
pub struct Generated {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub authority: Authority,
}

/// Every name the server certificate must cover for `host` (`HOST` as
/// given, maybe `box.example.com`): loopback names, the host, its first
/// label and that label's `.local` name, and every current LAN address.
pub fn server_names(host: &str) -> Vec<String> {
    server_names_for(host, &net::lan_addresses())
}

/// [`server_names`] for a given set of LAN addresses.
pub fn server_names_for(host: &str, addresses: &[IpAddr]) -> Vec<String> {
    let label = host.split('.').next().unwrap_or(host);
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
        label.to_string(),
        format!("{label}.local"),
        host.to_string(),
    ];
    names.extend(addresses.iter().map(|ip| ip.to_string()));
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

/// Makes sure `dir` holds an authority and a server certificate covering
/// `names`, generating what is missing or stale.
pub fn ensure(dir: &Path, names: &[String]) -> Result<Generated> {
    create_dir(dir)?;
    let (ca_pem, ca_key_pem, created) = load_or_create_authority(dir)?;
    let ca_der = CertificateDer::from_pem_slice(ca_pem.as_bytes()).map_err(|_| {
        anyhow::anyhow!(
            "{} is not a PEM certificate; restore it from a backup, or delete ca.pem and ca-key.pem there to create a new authority (every device will then have to trust the new one)",
            dir.join("ca.pem").display()
        )
    })?;

    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    let existing = read_leaf(&cert_path, &key_path);
    let (chain, key, issued) = match existing {
        Some((chain, key)) if !created && covers(&ca_der, &chain[0], names) => (chain, key, false),
        _ => {
            let ca_key = KeyPair::from_pem(&ca_key_pem).map_err(|err| {
                anyhow::anyhow!(
                    "{} is not a usable private key ({err}); restore it, or delete ca.pem and ca-key.pem there to create a new authority",
                    dir.join("ca-key.pem").display()
                )
            })?;
            let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key).with_context(|| {
                format!(
                    "{} could not be read as an authority",
                    dir.join("ca.pem").display()
                )
            })?;
            let (cert_pem, key_pem) = issue_leaf(&issuer, names)?;
            write_file(&key_path, key_pem.as_bytes(), true)?;
            write_file(&cert_path, cert_pem.as_bytes(), false)?;
            let chain = vec![CertificateDer::from_pem_slice(cert_pem.as_bytes())?];
            let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())?;
            // A key from another authority signs a certificate no device
            // would accept; say so instead of serving it.
            if !covers(&ca_der, &chain[0], names) {
                bail!(
                    "{} and {} do not belong together (the key did not sign with the authority's certificate); restore both from the same backup, or delete both to create a new authority",
                    dir.join("ca.pem").display(),
                    dir.join("ca-key.pem").display()
                );
            }
            (chain, key, true)
        }
    };

    Ok(Generated {
        chain,
        key,
        authority: Authority {
            fingerprint: fingerprint(&ca_der),
            der: ca_der,
            dir: dir.to_path_buf(),
            created,
            issued,
        },
    })
}

/// Like [`ensure`] while the server runs: a new server certificate when the
/// current one no longer covers `names` or is near expiry, but never a new
/// authority. Pages already trust the one they were given, and `/ca.crt`
/// keeps serving it, so an authority that vanished from `dir` is an error.
pub fn renew(dir: &Path, names: &[String]) -> Result<Generated> {
    for file in ["ca.pem", "ca-key.pem"] {
        if !present(&dir.join(file))? {
            bail!(
                "{} is gone, so no new server certificate can be signed; restore it (the running server keeps its current certificate, and a restart would create a new authority that every device has to trust again)",
                dir.join(file).display()
            );
        }
    }
    ensure(dir, names)
}

/// SHA-256 of a certificate as `AB:CD:…`, the form iOS, Android and browsers show.
pub fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn create_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).with_context(|| {
        format!(
            "CERTS_DIR is {} but that directory cannot be created; point CERTS_DIR at a writable directory, or give KEY and CERT",
            dir.display()
        )
    })
}

/// Returns the authority's certificate and key PEM, and whether it was created now.
fn load_or_create_authority(dir: &Path) -> Result<(String, String, bool)> {
    let ca_path = dir.join("ca.pem");
    let ca_key_path = dir.join("ca-key.pem");
    match (present(&ca_path)?, present(&ca_key_path)?) {
        (true, true) => {
            let ca = read_text(&ca_path)?;
            let key = read_text(&ca_key_path)?;
            Ok((ca, key, false))
        }
        (false, false) => {
            let (ca, key) = create_authority(dir)?;
            // Key first: a crash between the writes leaves a key without a
            // certificate, which the next start reports instead of hiding.
            write_file(&ca_key_path, key.as_bytes(), true)?;
            write_file(&ca_path, ca.as_bytes(), false)?;
            Ok((ca, key, true))
        }
        (true, false) => bail!(
            "{} exists but {} is missing, so no server certificate can be signed; restore ca-key.pem, or delete ca.pem to create a new authority (every device will then have to trust the new one)",
            ca_path.display(),
            ca_key_path.display()
        ),
        (false, true) => bail!(
            "{} exists but {} is missing; restore ca.pem, or delete ca-key.pem to create a new authority (every device will then have to trust the new one)",
            ca_key_path.display(),
            ca_path.display()
        ),
    }
}

/// Whether a file is there. Anything but a clear "not found" (a dangling
/// link, a permission problem) is an error: creating a new authority because
/// the old one was briefly unreachable would untrust every device.
fn present(path: &Path) -> Result<bool> {
    match fs::metadata(path) {
        Ok(_) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && fs::symlink_metadata(path).is_err() => Ok(false),
        Err(err) => Err(anyhow::Error::new(err).context(format!(
            "{} exists but cannot be read; fix the link or its permissions (a new authority is only made when there is none)",
            path.display()
        ))),
    }
}

fn create_authority(dir: &Path) -> Result<(String, String)> {
    let now = OffsetDateTime::now_utc();
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    // The host at creation time makes the authority recognisable in a phone's
    // list of installed profiles; it stays valid if the host is renamed.
    let label = gethostname::gethostname().to_string_lossy().into_owned();
    dn.push(
        DnType::CommonName,
        format!("lanrtc local authority ({label})"),
    );
    dn.push(DnType::OrganizationName, "lanrtc");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = now - TimeDuration::days(1);
    params.not_after = now + TimeDuration::days(CA_LIFETIME_DAYS);
    let key = KeyPair::generate().context("could not generate the authority's key")?;
    let ca = CertifiedIssuer::self_signed(params, key).with_context(|| {
        format!(
            "could not create a certificate authority in {}",
            dir.display()
        )
    })?;
    Ok((ca.pem(), ca.key().serialize_pem()))
}

fn issue_leaf(issuer: &Issuer<'_, KeyPair>, names: &[String]) -> Result<(String, String)> {
    let now = OffsetDateTime::now_utc();
    let mut params = CertificateParams::new(names.to_vec())
        .context("a server name is not valid in a certificate")?;
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        names.get(3).cloned().unwrap_or_else(|| "lanrtc".into()),
    );
    params.distinguished_name = dn;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - TimeDuration::days(1);
    params.not_after = now + TimeDuration::days(LEAF_LIFETIME_DAYS);
    let key = KeyPair::generate().context("could not generate the server key")?;
    let cert = params
        .signed_by(&key, issuer)
        .context("could not sign the server certificate")?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Reads an existing server certificate and key if both parse and belong together.
fn read_leaf(
    cert: &Path,
    key: &Path,
) -> Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let chain: Vec<_> = CertificateDer::pem_file_iter(cert)
        .ok()?
        .collect::<Result<_, _>>()
        .ok()?;
    let key = PrivateKeyDer::from_pem_file(key).ok()?;
    let first = chain.first()?.clone();
    let provider = crate::tls::provider();
    let signing = provider
        .key_provider
        .load_private_key(key.clone_key())
        .ok()?;
    tokio_rustls::rustls::sign::CertifiedKey::new(vec![first], signing)
        .keys_match()
        .ok()?;
    Some((chain, key))
}

/// Whether `leaf` chains to `ca`, covers every name, and stays valid for the
/// renewal margin — checked with the same verifier a client would use.
pub fn covers(
    ca: &CertificateDer<'static>,
    leaf: &CertificateDer<'static>,
    names: &[String],
) -> bool {
    let mut roots = RootCertStore::empty();
    if roots.add(ca.clone()).is_err() {
        return false;
    }
    let Ok(verifier) =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), crate::tls::provider())
            .build()
    else {
        return false;
    };
    let margin = std::time::Duration::from_secs(RENEW_BEFORE_DAYS * 86_400);
    let later = UnixTime::since_unix_epoch(
        std::time::Duration::from_secs(UnixTime::now().as_secs()) + margin,
    );
    names.iter().all(|name| {
        let server_name = match name.parse::<IpAddr>() {
            Ok(ip) => ServerName::IpAddress(ip.into()),
            Err(_) => match ServerName::try_from(name.clone()) {
                Ok(n) => n,
                Err(_) => return false,
            },
        };
        [UnixTime::now(), later].into_iter().all(|at| {
            verifier
                .verify_server_cert(leaf, &[], &server_name, &[], at)
                .is_ok()
        })
    })
}

fn read_text(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| {
        format!(
            "{} could not be read; check its permissions",
            path.display()
        )
    })
}

/// Writes a file atomically (temporary file, then rename); private keys get
/// mode 0600 from the moment they exist.
fn write_file(path: &Path, contents: &[u8], private: bool) -> Result<()> {
    let tmp = path.with_extension("pem.tmp");
    let result = (|| -> std::io::Result<()> {
        // A leftover from an interrupted run may carry other permissions.
        let _ = fs::remove_file(&tmp);
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, if private { 0o600 } else { 0o644 });
        let mut file = options.open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    result.with_context(|| {
        format!(
            "could not write {}; check that the directory is writable",
            path.display()
        )
    })
}
