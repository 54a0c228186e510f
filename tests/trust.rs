//! Helping devices trust the authority: /ca.crt, /ca.mobileconfig and /trust,
//! over HTTPS and over plain HTTP on the same port, and the redirect to https
//! for everything else.

mod common;

use base64::Engine;
use common::{raw_plain, TestServer};

#[tokio::test]
async fn authority_downloads_over_https() {
    let server = TestServer::start().await;
    let crt = server.get("/ca.crt").await;
    assert_eq!(crt.status, 200);
    assert_eq!(crt.header("content-type"), "application/x-x509-ca-cert");
    assert_eq!(
        &crt.body[..],
        &server.ca[..],
        "ca.crt must be the authority in DER"
    );

    let profile = server.get("/ca.mobileconfig").await;
    assert_eq!(profile.status, 200);
    assert_eq!(
        profile.header("content-type"),
        "application/x-apple-aspen-config"
    );
    let text = profile.text();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&server.ca);
    assert!(
        text.contains(&format!("<data>{b64}</data>")),
        "profile does not carry the authority"
    );
    assert!(text.contains("com.apple.security.root"));
    assert_eq!(
        text,
        server.get("/ca.mobileconfig").await.text(),
        "profile must be stable (same UUIDs)"
    );

    let page = server.get("/trust").await;
    assert_eq!(page.status, 200);
    let html = page.text();
    let fingerprint = lanrtc::certs::fingerprint(&server.ca);
    assert!(
        html.contains(&fingerprint),
        "fingerprint missing from /trust"
    );
    for platform in ["iPhone", "Android", "Mac", "Windows", "Linux"] {
        assert!(
            html.contains(platform),
            "/trust does not explain {platform}"
        );
    }
    assert!(html.contains("href=\"/ca.crt\"") && html.contains("href=\"/ca.mobileconfig\""));
}

#[tokio::test]
async fn plain_http_serves_the_helpers_and_redirects_the_rest() {
    let server = TestServer::start().await;
    let port = server.port();

    let crt = raw_plain(
        server.addr,
        "GET /ca.crt HTTP/1.1\r\nHost: box.local:8443\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(crt.starts_with("HTTP/1.1 200"), "{crt}");
    assert!(crt
        .to_ascii_lowercase()
        .contains("content-type: application/x-x509-ca-cert"));
    let body_len = crt.split("\r\n\r\n").nth(1).map(str::len);
    assert!(body_len.is_some_and(|n| n > 100), "no certificate body");

    for path in ["/ca.mobileconfig", "/trust"] {
        let r = raw_plain(
            server.addr,
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        )
        .await;
        assert!(r.starts_with("HTTP/1.1 200"), "{path}: {r}");
    }

    for (path, host, location) in [
        ("/", "box.local:8443", "https://box.local:8443/".to_string()),
        (
            "/app.js?v=2",
            "10.0.0.5:8443",
            "https://10.0.0.5:8443/app.js?v=2".to_string(),
        ),
        (
            "/rtc",
            "box.local:8443",
            "https://box.local:8443/rtc".to_string(),
        ),
        (
            "/x",
            "evil.example/@attacker",
            format!("https://testhost.local:{port}/x"),
        ),
    ] {
        let r = raw_plain(
            server.addr,
            &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        )
        .await;
        assert!(r.starts_with("HTTP/1.1 308"), "{path}: {r}");
        let lower = r.to_ascii_lowercase();
        assert!(
            lower.contains(&format!("location: {}", location.to_ascii_lowercase())),
            "{path} via {host}: {r}"
        );
        assert!(lower.contains("x-content-type-options: nosniff"));
    }

    // HTTPS on the same port still works after plain requests.
    assert_eq!(server.get("/").await.status, 200);
}
