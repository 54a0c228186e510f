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
    // Shown with a break opportunity after each byte (see below).
    assert!(
        html.replace("<wbr>", "").contains(&fingerprint),
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

fn plain_get(path: &str, host: &str, user_agent: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {user_agent}\r\nConnection: close\r\n\r\n")
}

const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Mobile/15E148 Safari/604.1";
const ANDROID: &str =
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36";

/// The ids of the page's platform sections in order, and the open ones.
fn sections(html: &str) -> (Vec<String>, Vec<String>) {
    let mut order = Vec::new();
    let mut open = Vec::new();
    for part in html.split("<details id=\"").skip(1) {
        let id = part.split('"').next().unwrap().to_string();
        if part.split('>').next().unwrap().contains(" open") {
            open.push(id.clone());
        }
        order.push(id);
    }
    (order, open)
}

#[tokio::test]
async fn plain_http_at_the_app_is_the_landing_that_checks_trust() {
    let server = TestServer::start().await;
    for path in ["/", "/r/team", "/r/team?key=abc"] {
        let r = raw_plain(server.addr, &plain_get(path, "10.0.0.5:8443", ANDROID)).await;
        assert!(r.starts_with("HTTP/1.1 200"), "{path}: {r}");
        let lower = r.to_ascii_lowercase();
        assert!(lower.contains("content-type: text/html"), "{r}");
        assert!(r.contains("data-mode=\"landing\""), "{path} is the landing");
        assert!(r.contains("<script src=\"/trust.js\""), "{r}");
        // Its script may ask this same address over https, nothing else.
        assert!(
            lower.contains("connect-src 'self' https://10.0.0.5:8443;"),
            "{r}"
        );
        let (order, open) = sections(&r);
        assert_eq!(
            order.first().map(String::as_str),
            Some("android"),
            "{order:?}"
        );
        assert_eq!(open, ["android"]);
    }
    // A hostile Host header is not copied into the policy.
    let r = raw_plain(server.addr, &plain_get("/", "evil.example/@x", IPHONE)).await;
    assert!(
        r.to_ascii_lowercase().contains("connect-src 'self';"),
        "{r}"
    );
    // The script the landing needs is served over plain HTTP too.
    let js = raw_plain(
        server.addr,
        &plain_get("/trust.js", "10.0.0.5:8443", IPHONE),
    )
    .await;
    assert!(js.starts_with("HTTP/1.1 200"), "{js}");
    assert!(js.contains("probe="), "{js}");
    // Not every file: the app itself needs https.
    let app = raw_plain(
        server.addr,
        &plain_get("/js/main.js", "10.0.0.5:8443", IPHONE),
    )
    .await;
    assert!(app.starts_with("HTTP/1.1 308"), "{app}");
    // Over https, /trust is the same page without the automatic check.
    let html = server
        .request("GET", "/trust", &[("user-agent", IPHONE)])
        .await
        .text();
    assert!(html.contains("data-mode=\"trust\""));
    assert_eq!(
        sections(&html).1,
        ["ios"],
        "the visitor's platform opens first"
    );
    assert_eq!(sections(&html).0.len(), 5);
    // Unknown devices get every section closed, in the usual order.
    let html = server
        .request("GET", "/trust", &[("user-agent", "curl/8")])
        .await
        .text();
    let (order, open) = sections(&html);
    assert_eq!(order, ["ios", "android", "mac", "windows", "linux"]);
    assert!(open.is_empty());
}

#[tokio::test]
async fn the_fingerprint_wraps_between_bytes_and_the_page_follows_dark_mode() {
    let server = TestServer::start().await;
    let html = server.get("/trust").await.text();
    let fingerprint = lanrtc::certs::fingerprint(&server.ca);
    assert!(
        html.contains(&fingerprint.replace(':', ":<wbr>")),
        "a break opportunity after each byte, and only there"
    );
    assert!(
        !html.contains("break-all"),
        "nothing may break inside a byte"
    );
    assert!(html.contains("@media (prefers-color-scheme: dark)"));
    assert!(html.contains("name=\"color-scheme\" content=\"light dark\""));
}
