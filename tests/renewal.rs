//! The server certificate follows the machine while it runs: a new LAN
//! address gets a certificate from the same authority (checked inside a
//! private network namespace, where the test may add addresses), and
//! `KEY`/`CERT` replaced on disk are served to new connections, while a
//! broken replacement leaves the old pair in place.

mod common;
mod netns;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

const RECHECK: Duration = Duration::from_millis(100);

fn trusting(roots: &[CertificateDer<'static>]) -> Arc<ClientConfig> {
    let mut store = RootCertStore::empty();
    for root in roots {
        store.add(root.clone()).unwrap();
    }
    let mut config = ClientConfig::builder_with_provider(lanrtc::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(store)
        .with_no_client_auth();
    // A resumed session reports the certificate of the session it resumes;
    // every connection here must show what the server serves now.
    config.resumption = tokio_rustls::rustls::client::Resumption::disabled();
    Arc::new(config)
}

/// A verified TLS connection to `addr` as `name`, and the certificate the
/// server presented.
async fn connect(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
) -> std::io::Result<(TlsStream<TcpStream>, CertificateDer<'static>)> {
    let tcp = TcpStream::connect(addr).await?;
    let tls = TlsConnector::from(config).connect(name, tcp).await?;
    let served = tls.get_ref().1.peer_certificates().unwrap()[0].clone();
    Ok((tls, served))
}

/// One keep-alive request on an open connection: the connection still works.
async fn healthz(tls: &mut TlsStream<TcpStream>) -> String {
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(common::WAIT, tls.read(&mut buf))
        .await
        .expect("the old connection answers")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// A self-signed pair for `localhost`, in PEM.
fn pair() -> (String, String, CertificateDer<'static>) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    (
        made.signing_key.serialize_pem(),
        made.cert.pem(),
        made.cert.der().clone(),
    )
}

/// Replaces a file the way ACME clients do: a new file renamed over the old.
fn replace(path: &Path, contents: &str) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, contents).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test]
async fn key_and_cert_replaced_on_disk_reach_new_connections_and_a_bad_pair_is_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    let (key_path, cert_path) = (tmp.path().join("key.pem"), tmp.path().join("cert.pem"));
    let (a_key, a_cert, a_der) = pair();
    let (b_key, b_cert, b_der) = pair();
    let (c_key, _, _) = pair();
    replace(&key_path, &a_key);
    replace(&cert_path, &a_cert);
    let mut settings = common::settings(&tmp.path().join("certs"));
    settings.key = Some(key_path.clone());
    settings.cert = Some(cert_path.clone());
    let server =
        common::TestServer::start_settings(settings, |c| c.limits.cert_recheck = RECHECK).await;
    let config = trusting(&[a_der.clone(), b_der.clone()]);
    let localhost = || ServerName::try_from("localhost").unwrap();

    let (mut old, served) = connect(server.addr, config.clone(), localhost())
        .await
        .unwrap();
    assert_eq!(served, a_der, "the first pair is served at start");

    replace(&key_path, &b_key);
    replace(&cert_path, &b_cert);
    let deadline = Instant::now() + common::WAIT;
    loop {
        let (_, served) = connect(server.addr, config.clone(), localhost())
            .await
            .unwrap();
        if served == b_der {
            break;
        }
        assert!(Instant::now() < deadline, "the new pair was never served");
        tokio::time::sleep(RECHECK / 2).await;
    }
    let reply = healthz(&mut old).await;
    assert!(
        reply.starts_with("HTTP/1.1 200"),
        "the old connection goes on: {reply}"
    );

    // Broken replacements: damaged PEM, then a key that belongs to another
    // certificate. Each is checked (and refused) like a bad pair at start.
    for (what, key, cert) in [
        (
            "a damaged certificate",
            b_key.as_str(),
            "-----BEGIN CERTIFICATE-----\nnot base64\n",
        ),
        (
            "a key of another certificate",
            c_key.as_str(),
            b_cert.as_str(),
        ),
        ("an empty key file", "", b_cert.as_str()),
    ] {
        replace(&key_path, key);
        replace(&cert_path, cert);
        tokio::time::sleep(RECHECK * 5).await;
        let (_, served) = connect(server.addr, config.clone(), localhost())
            .await
            .unwrap_or_else(|e| panic!("after {what}, new connections still work: {e}"));
        assert_eq!(
            served, b_der,
            "after {what}, the last good pair is still served"
        );
    }
}

#[test]
fn a_new_lan_address_gets_a_certificate_while_old_connections_go_on() {
    netns::run_in_private_lan(
        "the certificate renewal test",
        "renew",
        "10.99.3.1",
        "10.99.3.2",
        "new_address_inside_namespace",
        Duration::from_secs(60),
    );
}

const ADDED: &str = "10.99.3.7";

#[test]
#[ignore = "run by a_new_lan_address_gets_a_certificate_while_old_connections_go_on inside its namespace"]
fn new_address_inside_namespace() {
    if std::env::var_os(netns::INNER_ENV).is_none() {
        return;
    }
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let tmp = tempfile::tempdir().unwrap();
        let mut settings = common::settings(tmp.path());
        settings.bind = Some("0.0.0.0".into()); // only this namespace's addresses
        settings.mdns = Some("on".into()); // inside the namespace only
        let mut config = lanrtc::Config::load(&settings).unwrap();
        config.limits.cert_recheck = RECHECK;
        let ca = config.tls.authority.as_ref().unwrap().der.clone();
        let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(lanrtc::run(config, listener, std::future::pending()));
        let trust = trusting(&[ca]);
        let at = |ip: &str| {
            let ip: IpAddr = ip.parse().unwrap();
            (SocketAddr::new(ip, port), ServerName::IpAddress(ip.into()))
        };

        let (addr, name) = at("10.99.3.1");
        let (mut old, first) = connect(addr, trust.clone(), name)
            .await
            .expect("the address at start is covered");

        // A browser on the LAN, to see the announcement follow.
        let browser = mdns_sd::ServiceDaemon::new().unwrap();
        let events = browser.browse(lanrtc::mdns::SERVICE_TYPE).unwrap();

        netns::run(std::process::Command::new("ip").args([
            "addr",
            "add",
            &format!("{ADDED}/24"),
            "dev",
            "va",
        ]));
        let (addr, name) = at(ADDED);
        let deadline = Instant::now() + common::WAIT;
        let second = loop {
            match connect(addr, trust.clone(), name.clone()).await {
                Ok((_, served)) => break served,
                Err(err) => {
                    assert!(
                        Instant::now() < deadline,
                        "{ADDED} never got a certificate: {err}"
                    );
                    tokio::time::sleep(RECHECK / 2).await;
                }
            }
        };
        assert_ne!(first, second, "a new server certificate was issued");
        let reply = healthz(&mut old).await;
        assert!(
            reply.starts_with("HTTP/1.1 200"),
            "the old connection goes on: {reply}"
        );

        // The mDNS announcement names the new address too.
        let added: IpAddr = ADDED.parse().unwrap();
        let deadline = Instant::now() + common::WAIT * 2;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, events.recv_async()).await {
                Ok(Ok(mdns_sd::ServiceEvent::ServiceResolved(info)))
                    if info.get_addresses().iter().any(|a| a.to_ip_addr() == added) =>
                {
                    break
                }
                Ok(Ok(_)) => {}
                other => panic!("the announcement never named {ADDED}: {other:?}"),
            }
        }
        let _ = browser.shutdown();
    });
}
