//! Certificates: the generated local authority (creation, reuse, re-issue,
//! file modes) and user-supplied KEY/CERT in every key format, with the
//! errors a person gets when they are wrong.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::{client_config, settings, tls_connect, TestServer};
use lanrtc::{Config, Settings};

fn load(s: &Settings) -> Config {
    Config::load(s).unwrap_or_else(|e| panic!("config should load: {e:#}"))
}

fn load_err(s: &Settings) -> String {
    match Config::load(s) {
        Ok(_) => panic!("config should have been refused"),
        Err(e) => format!("{e:#}"),
    }
}

#[tokio::test]
async fn a_fully_qualified_host_is_in_the_certificate_and_announced_by_its_first_label() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = settings(tmp.path());
    s.host = Some("Box.Example.com".into());
    let server = TestServer::start_settings(s.clone(), |_| {}).await;
    for name in ["box.example.com", "box", "box.local", "localhost"] {
        tls_connect(server.addr, server.client_config(), name)
            .await
            .unwrap_or_else(|e| panic!("{name} should verify: {e}"));
    }
    s.mdns = Some("on".into());
    let config = load(&s);
    assert_eq!(
        (config.host.as_str(), config.host_name.as_str()),
        ("box", "box.example.com")
    );
    let urls = lanrtc::banner::urls(&config, "0.0.0.0:8443".parse().unwrap());
    for url in ["https://box.example.com:8443/", "https://box.local:8443/"] {
        assert!(urls.contains(&url.to_string()), "{url} in {urls:?}");
    }
    let text = lanrtc::banner::render(&config, "0.0.0.0:8443".parse().unwrap());
    assert!(text.contains("as \"lanrtc on box\""), "{text}");
}

#[tokio::test]
async fn generated_certificate_verifies_for_every_local_name() {
    let server = TestServer::start().await;
    for name in [
        "localhost",
        "127.0.0.1",
        "::1",
        "testhost",
        "testhost.local",
    ] {
        tls_connect(server.addr, server.client_config(), name)
            .await
            .unwrap_or_else(|e| panic!("{name} should verify: {e}"));
    }
    for addr in lanrtc::net::lan_addresses() {
        tls_connect(server.addr, server.client_config(), &addr.to_string())
            .await
            .unwrap_or_else(|e| panic!("LAN address {addr} should verify: {e}"));
    }
    let err = tls_connect(server.addr, server.client_config(), "elsewhere.example")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("certificate"), "{err}");

    // A client trusting some other authority is refused.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let stranger = client_config(&other.cert.der().clone());
    assert!(tls_connect(server.addr, stranger, "localhost")
        .await
        .is_err());

    let r = server.get("/").await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("lanrtc"));
}

#[test]
fn authority_is_reused_and_keys_are_private() {
    let tmp = tempfile::tempdir().unwrap();
    let first = load(&settings(tmp.path()));
    let a1 = first.tls.authority.clone().unwrap();
    assert!(a1.created && a1.issued);
    let cert1 = std::fs::read(tmp.path().join("cert.pem")).unwrap();
    for (file, mode) in [
        ("ca-key.pem", 0o600),
        ("key.pem", 0o600),
        ("ca.pem", 0o644),
        ("cert.pem", 0o644),
    ] {
        let m = std::fs::metadata(tmp.path().join(file))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(m, mode, "{file} has mode {m:o}");
    }

    let second = load(&settings(tmp.path()));
    let a2 = second.tls.authority.clone().unwrap();
    assert_eq!(a1.der, a2.der, "second start made a new authority");
    assert_eq!(a1.fingerprint, a2.fingerprint);
    assert!(
        !a2.created && !a2.issued,
        "nothing should be generated on a second start"
    );
    assert_eq!(std::fs::read(tmp.path().join("cert.pem")).unwrap(), cert1);

    // The printed fingerprint is the SHA-256 of the authority certificate.
    let pem = std::fs::read_to_string(tmp.path().join("ca.pem")).unwrap();
    assert!(pem.contains("BEGIN CERTIFICATE"));
    assert_eq!(a2.fingerprint, lanrtc::certs::fingerprint(&a2.der));
    assert_eq!(a2.fingerprint.len(), 32 * 3 - 1);
}

#[tokio::test]
async fn new_host_gets_a_new_server_certificate_from_the_same_authority() {
    let tmp = tempfile::tempdir().unwrap();
    let before = load(&settings(tmp.path())).tls.authority.unwrap();
    let cert_before = std::fs::read(tmp.path().join("cert.pem")).unwrap();

    let mut renamed = settings(tmp.path());
    renamed.host = Some("kitchen".into());
    let server = TestServer::start_settings(renamed, |_| {}).await;
    assert_eq!(server.ca, before.der, "the authority must survive a rename");
    assert_ne!(
        std::fs::read(tmp.path().join("cert.pem")).unwrap(),
        cert_before,
        "no new certificate was issued"
    );
    for name in ["kitchen", "kitchen.local", "localhost"] {
        tls_connect(server.addr, server.client_config(), name)
            .await
            .unwrap_or_else(|e| panic!("{name} should verify after the rename: {e}"));
    }
    assert!(
        tls_connect(server.addr, server.client_config(), "testhost.local")
            .await
            .is_err()
    );
}

#[test]
fn a_server_certificate_from_another_authority_is_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    load(&settings(tmp.path()));
    // Swap in a stray certificate and key that the authority never signed.
    let stray =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "testhost".into()]).unwrap();
    std::fs::write(tmp.path().join("cert.pem"), stray.cert.pem()).unwrap();
    std::fs::write(
        tmp.path().join("key.pem"),
        stray.signing_key.serialize_pem(),
    )
    .unwrap();
    let authority = load(&settings(tmp.path())).tls.authority.unwrap();
    assert!(authority.issued && !authority.created);
    assert_ne!(
        std::fs::read_to_string(tmp.path().join("cert.pem")).unwrap(),
        stray.cert.pem()
    );
}

#[test]
fn a_half_present_authority_is_an_error_not_a_silent_new_one() {
    let tmp = tempfile::tempdir().unwrap();
    load(&settings(tmp.path()));
    std::fs::remove_file(tmp.path().join("ca-key.pem")).unwrap();
    let err = load_err(&settings(tmp.path()));
    assert!(
        err.contains("ca-key.pem is missing") && err.contains("restore"),
        "{err}"
    );
    assert!(
        tmp.path().join("ca.pem").exists(),
        "the authority must not be replaced"
    );
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_authority_key_from_elsewhere_is_reported_not_used() {
    let tmp = tempfile::tempdir().unwrap();
    load(&settings(tmp.path()));
    let other = rcgen::KeyPair::generate().unwrap();
    std::fs::write(tmp.path().join("ca-key.pem"), other.serialize_pem()).unwrap();
    std::fs::remove_file(tmp.path().join("cert.pem")).unwrap();
    let err = load_err(&settings(tmp.path()));
    assert!(err.contains("do not belong together"), "{err}");
}

#[test]
fn an_unreachable_authority_is_an_error_not_a_new_one() {
    let tmp = tempfile::tempdir().unwrap();
    // A link into a mount that is not there yet.
    std::os::unix::fs::symlink("/nonexistent/ca.pem", tmp.path().join("ca.pem")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/ca-key.pem", tmp.path().join("ca-key.pem")).unwrap();
    let err = load_err(&settings(tmp.path()));
    assert!(err.contains("exists but cannot be read"), "{err}");
    assert!(std::fs::symlink_metadata(tmp.path().join("ca.pem"))
        .unwrap()
        .file_type()
        .is_symlink());
}

/// Makes a key in the given format and a certificate for it with openssl.
fn openssl_pair(dir: &Path, kind: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let key = dir.join(format!("{kind}-key.pem"));
    let cert = dir.join(format!("{kind}-cert.pem"));
    let key_args: Vec<&str> = match kind {
        "pkcs1" => vec![
            "genrsa",
            "-traditional",
            "-out",
            key.to_str().unwrap(),
            "2048",
        ],
        "sec1" => vec![
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            key.to_str().unwrap(),
        ],
        "pkcs8" => vec![
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            key.to_str().unwrap(),
        ],
        _ => unreachable!(),
    };
    openssl(&key_args);
    let (key_s, cert_s) = (key.to_str().unwrap(), cert.to_str().unwrap());
    openssl(&[
        "req",
        "-x509",
        "-key",
        key_s,
        "-out",
        cert_s,
        "-days",
        "2",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-addext",
        "extendedKeyUsage=serverAuth",
    ]);
    (key, cert)
}

#[tokio::test]
async fn key_and_cert_load_in_every_key_format() {
    let tmp = tempfile::tempdir().unwrap();
    for (kind, marker) in [
        ("pkcs8", "BEGIN PRIVATE KEY"),
        ("pkcs1", "BEGIN RSA PRIVATE KEY"),
        ("sec1", "BEGIN EC PRIVATE KEY"),
    ] {
        let (key, cert) = openssl_pair(tmp.path(), kind);
        assert!(
            std::fs::read_to_string(&key).unwrap().contains(marker),
            "{kind} key is not in the expected format"
        );
        let mut s = settings(&tmp.path().join("unused"));
        s.key = Some(key);
        s.cert = Some(cert.clone());
        let server = TestServer::start_settings(s, |_| {}).await;
        let pem = std::fs::read(&cert).unwrap();
        let ca = rustls_pki_types_cert(&pem);
        let r = tls_connect(server.addr, client_config(&ca), "localhost").await;
        assert!(r.is_ok(), "{kind}: {:?}", r.err());
        assert!(
            !tmp.path().join("unused").exists(),
            "{kind}: no authority should be generated with KEY/CERT"
        );
        // There is no local authority to hand out.
        let tls = r.unwrap();
        let reply = common::send_request(
            hyper_util::rt::TokioIo::new(tls),
            "GET",
            "/ca.crt",
            "localhost",
            &[],
        )
        .await;
        assert_eq!(reply.status, 404, "{kind}");
        assert!(reply.text().contains("KEY and CERT"), "{}", reply.text());
    }
}

fn rustls_pki_types_cert(pem: &[u8]) -> tokio_rustls::rustls::pki_types::CertificateDer<'static> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    tokio_rustls::rustls::pki_types::CertificateDer::from_pem_slice(pem).unwrap()
}

#[test]
fn key_and_cert_errors_say_what_to_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, cert) = openssl_pair(tmp.path(), "pkcs8");
    let (other_key, _) = openssl_pair(tmp.path(), "sec1");
    let garbage = tmp.path().join("garbage.pem");
    std::fs::write(&garbage, "hello, not a key\n").unwrap();
    let missing = tmp.path().join("nope.pem");

    let case = |k: Option<&Path>, c: Option<&Path>| {
        let mut s = settings(&tmp.path().join("certs"));
        s.key = k.map(Path::to_path_buf);
        s.cert = c.map(Path::to_path_buf);
        load_err(&s)
    };
    let truncated = tmp.path().join("truncated.pem");
    let key_text = std::fs::read_to_string(&key).unwrap();
    std::fs::write(&truncated, &key_text[..key_text.len() / 2]).unwrap();
    let encrypted = tmp.path().join("encrypted.pem");
    openssl(&[
        "pkey",
        "-in",
        key.to_str().unwrap(),
        "-out",
        encrypted.to_str().unwrap(),
        "-aes256",
        "-passout",
        "pass:x",
    ]);
    let cases: Vec<(String, &[&str])> = vec![
        (
            case(Some(tmp.path()), Some(&cert)),
            &["KEY points to", "which is a directory"],
        ),
        (
            case(Some(&truncated), Some(&cert)),
            &["KEY file", "cut short"],
        ),
        (
            case(Some(&encrypted), Some(&cert)),
            &["encrypted private key", "openssl pkey"],
        ),
        (case(None, Some(&cert)), &["CERT is set", "KEY is not"]),
        (case(Some(&key), None), &["KEY is set", "CERT is not"]),
        (
            case(Some(&missing), Some(&cert)),
            &["KEY points to", "nope.pem", "does not exist"],
        ),
        (
            case(Some(&key), Some(&missing)),
            &["CERT points to", "does not exist"],
        ),
        (
            case(Some(&garbage), Some(&cert)),
            &["KEY file", "holds no PEM private key"],
        ),
        (
            case(Some(&key), Some(&garbage)),
            &["CERT file", "holds no PEM certificate"],
        ),
        (
            case(Some(&other_key), Some(&cert)),
            &["does not belong to the certificate"],
        ),
    ];
    for (err, needles) in cases {
        for needle in needles {
            assert!(err.contains(needle), "{err:?} should mention {needle:?}");
        }
        assert!(!err.contains('\n'), "one sentence, not a dump: {err}");
    }
}
