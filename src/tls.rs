//! TLS for the one port: builds the rustls server configuration from either the
//! user's `KEY`/`CERT` files or the generated local authority (see [`crate::certs`]).
//!
//! PEM files are read with rustls-pki-types' `PemObject`, which understands
//! PKCS#8, PKCS#1 (RSA) and SEC1 (EC) keys.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Result};
use tokio_rustls::rustls::crypto::{ring, CryptoProvider};
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
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
    /// When the server certificate expires (Unix time), for `/metrics`.
    pub not_after: Option<i64>,
    /// The local authority, when the certificate was generated from one.
    pub authority: Option<Arc<certs::Authority>>,
}

/// Loads or generates the certificate and builds the acceptor.
pub fn load(source: &CertSource, host: &str) -> Result<Tls> {
    let (chain, key, authority) = match source {
        CertSource::Files { key, cert } => {
            let chain = read_chain(cert)?;
            let key_der = read_key(key)?;
            (chain, key_der, None)
        }
        CertSource::Generated { dir } => {
            let generated = certs::ensure(dir, &certs::server_names(host))?;
            (
                generated.chain,
                generated.key,
                Some(Arc::new(generated.authority)),
            )
        }
    };
    let not_after = chain.first().and_then(|der| {
        x509_parser::parse_x509_certificate(der)
            .ok()
            .map(|(_, cert)| cert.validity().not_after.timestamp())
    });
    let config = server_config(chain, key).map_err(|err| match (source, &err) {
        (
            CertSource::Files { key, cert },
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch),
        ) => anyhow::anyhow!(
            "KEY {} does not belong to the certificate in CERT {}; point KEY at the private key that was used to create that certificate",
            key.display(),
            cert.display()
        ),
        (CertSource::Files { key, .. }, _) => anyhow::anyhow!(
            "KEY {} could not be used ({err}); give an RSA, ECDSA (P-256/P-384) or Ed25519 key in PEM form",
            key.display()
        ),
        (CertSource::Generated { dir }, _) => anyhow::anyhow!(
            "the generated certificate in {} could not be used ({err}); delete cert.pem and key.pem there to issue a new one",
            dir.display()
        ),
    })?;
    Ok(Tls {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        not_after,
        authority,
    })
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<ServerConfig, rustls::Error> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    // HTTP/1.1 only: WebSocket upgrades need it and the app's few files gain
    // nothing from HTTP/2 on a LAN.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
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
