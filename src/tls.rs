//! TLS for the one port: builds the rustls server configuration from either the
//! user's `KEY`/`CERT` files or the generated local authority (see [`crate::certs`]).
//!
//! PEM files are read with rustls-pki-types' `PemObject`, which understands
//! PKCS#8, PKCS#1 (RSA) and SEC1 (EC) keys.
//!
//! The certificate is not fixed at start: the acceptor asks a
//! [`ServerCert`] for it on every handshake, and [`crate::renew`] swaps a
//! new one in when the network, the expiry or the `KEY`/`CERT` files call
//! for it. Open connections keep the certificate they started with.

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use anyhow::{bail, Result};
use tokio_rustls::rustls::crypto::{ring, CryptoProvider};
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::certs;
use crate::config::CertSource;

/// The one crypto provider compiled in (ring, which rcgen uses as well).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// What the server needs of its TLS set-up at run time.
#[derive(Clone)]
pub struct Tls {
    pub acceptor: TlsAcceptor,
    /// The certificate the acceptor hands out, which can be replaced.
    pub cert: Arc<ServerCert>,
    /// The local authority, when the certificate was generated from one.
    pub authority: Option<Arc<certs::Authority>>,
}

/// The server certificate of the moment: read on every handshake, replaced
/// by [`ServerCert::replace`].
#[derive(Debug)]
pub struct ServerCert {
    current: RwLock<Arc<CertifiedKey>>,
    /// When the current certificate expires (Unix time; 0 when unknown).
    not_after: AtomicI64,
}

impl ServerCert {
    fn new(material: Material) -> ServerCert {
        ServerCert {
            current: RwLock::new(material.key),
            not_after: AtomicI64::new(material.not_after.unwrap_or(0)),
        }
    }

    /// Hands new handshakes the new certificate; handshakes already done keep
    /// theirs.
    pub fn replace(&self, material: Material) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = material.key;
        self.not_after
            .store(material.not_after.unwrap_or(0), Ordering::Relaxed);
    }

    /// When the certificate being served expires (Unix time).
    pub fn not_after(&self) -> Option<i64> {
        Some(self.not_after.load(Ordering::Relaxed)).filter(|t| *t != 0)
    }

    /// The certificate chain being served, server certificate first.
    pub fn chain(&self) -> Vec<CertificateDer<'static>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .cert
            .clone()
    }
}

impl ResolvesServerCert for ServerCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

/// A certificate and key checked to belong together, ready to serve.
pub struct Material {
    key: Arc<CertifiedKey>,
    not_after: Option<i64>,
    /// The authority that issued it, when it was generated.
    pub authority: Option<certs::Authority>,
}

impl Material {
    /// The server certificate itself.
    pub fn leaf(&self) -> Option<&CertificateDer<'static>> {
        self.key.cert.first()
    }
}

/// Loads or generates the certificate and builds the acceptor.
pub fn load(source: &CertSource, host: &str) -> Result<Tls> {
    let material = match source {
        CertSource::Generated { dir } => {
            generated(dir, certs::ensure(dir, &certs::server_names(host))?)?
        }
        CertSource::Files { key, cert } => from_files(key, cert)?,
    };
    let authority = material.authority.clone().map(Arc::new);
    let cert = Arc::new(ServerCert::new(material));
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(cert.clone());
    // HTTP/1.1 only: WebSocket upgrades need it and the app's few files gain
    // nothing from HTTP/2 on a LAN.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        cert,
        authority,
    })
}

/// `KEY` and `CERT` read and checked as at start: the same errors, the same
/// validation.
pub fn from_files(key: &Path, cert: &Path) -> Result<Material> {
    let chain = read_chain(cert)?;
    let key_der = read_key(key)?;
    certified(chain, key_der, None).map_err(|err| match err {
        rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => anyhow::anyhow!(
            "KEY {} does not belong to the certificate in CERT {}; point KEY at the private key that was used to create that certificate",
            key.display(),
            cert.display()
        ),
        _ => anyhow::anyhow!(
            "KEY {} could not be used ({err}); give an RSA, ECDSA (P-256/P-384) or Ed25519 key in PEM form",
            key.display()
        ),
    })
}

/// A certificate issued by the local authority in `dir`.
pub fn generated(dir: &Path, generated: certs::Generated) -> Result<Material> {
    certified(generated.chain, generated.key, Some(generated.authority)).map_err(|err| {
        anyhow::anyhow!(
            "the generated certificate in {} could not be used ({err}); delete cert.pem and key.pem there to issue a new one",
            dir.display()
        )
    })
}

fn certified(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    authority: Option<certs::Authority>,
) -> Result<Material, rustls::Error> {
    let not_after = chain.first().and_then(|der| {
        x509_parser::parse_x509_certificate(der)
            .ok()
            .map(|(_, cert)| cert.validity().not_after.timestamp())
    });
    let key = CertifiedKey::from_der(chain, key, &provider())?;
    Ok(Material {
        key: Arc::new(key),
        not_after,
        authority,
    })
}

fn must_exist(var: &str, path: &Path) -> Result<()> {
    if path.is_dir() {
        bail!(
            "{var} points to {}, which is a directory; point it at the PEM file itself",
            path.display()
        );
    }
    if !path.is_file() {
        bail!(
            "{var} points to {} but that file does not exist; fix the path, or unset KEY and CERT to use a generated certificate",
            path.display()
        );
    }
    Ok(())
}

/// Reads a PEM certificate chain, server certificate first.
pub fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    must_exist("CERT", path)?;
    let chain = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|err| pem_error("CERT", path, "certificate chain", "BEGIN CERTIFICATE", err))?;
    if chain.is_empty() {
        bail!(
            "CERT file {} holds no PEM certificate (no BEGIN CERTIFICATE block); point CERT at the certificate chain in PEM form",
            path.display()
        );
    }
    Ok(chain)
}

/// Reads a PEM private key in any of the three common encodings.
pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    must_exist("KEY", path)?;
    if std::fs::read_to_string(path).is_ok_and(|t| t.contains("BEGIN ENCRYPTED PRIVATE KEY")) {
        bail!(
            "KEY file {} holds an encrypted private key, which the server cannot unlock at start; write a decrypted copy (openssl pkey -in KEY -out key.pem) and point KEY at it",
            path.display()
        );
    }
    PrivateKeyDer::from_pem_file(path).map_err(|err| {
        pem_error(
            "KEY",
            path,
            "private key",
            "BEGIN PRIVATE KEY, BEGIN RSA PRIVATE KEY or BEGIN EC PRIVATE KEY",
            err,
        )
    })
}

fn pem_error(var: &str, path: &Path, what: &str, expected: &str, err: pem::Error) -> anyhow::Error {
    match err {
        pem::Error::NoItemsFound => anyhow::anyhow!(
            "{var} file {} holds no PEM {what} (expected a {expected} block); point {var} at the {what} in PEM form",
            path.display()
        ),
        pem::Error::Io(io) => anyhow::Error::new(io)
            .context(format!("{var} file {} could not be read; check its permissions", path.display())),
        pem::Error::MissingSectionEnd { .. } => anyhow::anyhow!(
            "{var} file {} has a BEGIN line without its END line, so it looks cut short; copy the whole {what} again",
            path.display()
        ),
        pem::Error::Base64Decode(_) | pem::Error::IllegalSectionStart { .. } => anyhow::anyhow!(
            "{var} file {} is damaged PEM (the text between BEGIN and END is not valid); copy the {what} again",
            path.display()
        ),
        _ => anyhow::anyhow!(
            "{var} file {} could not be read as a PEM {what}; point {var} at the {what} in PEM form",
            path.display()
        ),
    }
}
