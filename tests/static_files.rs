//! Static files: content types, validators, methods, confinement to the
//! asset root, and the security headers on every response.

mod common;

use std::path::Path;

use common::{TestServer, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A server whose PUBLIC_DIR is `root/public`, with a secret beside it.
async fn server_with_public(root: &Path) -> TestServer {
    let public = root.join("public");
    std::fs::create_dir_all(public.join("img")).unwrap();
    std::fs::write(root.join("secret.txt"), "TOP-SECRET").unwrap();
    for (name, body) in [
        ("index.html", "<!doctype html><title>t</title>INDEX"),
        ("app.js", "export const x = 1;"),
        ("style.css", "body{}"),
        ("img/logo.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>"),
        ("img/icon.png", "\u{89}PNG"),
        ("favicon.ico", "ico"),
        ("data.json", "{}"),
        ("app.webmanifest", "{}"),
        ("mod.wasm", "\0asm"),
        (".hidden", "HIDDEN"),
    ] {
        std::fs::write(public.join(name), body).unwrap();
    }
    std::os::unix::fs::symlink(root.join("secret.txt"), public.join("link.txt")).unwrap();
    std::os::unix::fs::symlink(root, public.join("up")).unwrap();
    let mut s = common::settings(&root.join("certs"));
    s.public_dir = Some(public);
    TestServer::start_settings(s, |_| {}).await
}

#[tokio::test]
async fn files_have_the_right_content_type() {
    let tmp = tempfile::tempdir().unwrap();
    let server = server_with_public(tmp.path()).await;
    for (path, ctype) in [
        ("/", "text/html; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
        ("/img/logo.svg", "image/svg+xml"),
        ("/img/icon.png", "image/png"),
        ("/favicon.ico", "image/x-icon"),
        ("/data.json", "application/json"),
        ("/app.webmanifest", "application/manifest+json"),
        ("/mod.wasm", "application/wasm"),
    ] {
        let r = server.get(path).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), ctype, "{path}");
    }
    assert_eq!(
        server.get("/").await.text(),
        "<!doctype html><title>t</title>INDEX"
    );
}

#[tokio::test]
async fn etag_head_405_404() {
    let tmp = tempfile::tempdir().unwrap();
    let server = server_with_public(tmp.path()).await;
    let r = server.get("/app.js").await;
    let etag = r.header("etag").to_string();
    assert!(etag.starts_with('"') && etag.len() > 4, "{etag}");
    assert_eq!(r.header("cache-control"), "no-cache");

    let again = server
        .request("GET", "/app.js", &[("if-none-match", &etag)])
        .await;
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), etag);
    let stale = server
        .request("GET", "/app.js", &[("if-none-match", "\"other\"")])
        .await;
    assert_eq!(stale.status, 200);

    // Changing the file changes its validator, so a reload is never stale.
    std::fs::write(tmp.path().join("public/app.js"), "export const x = 2;").unwrap();
    let changed = server
        .request("GET", "/app.js", &[("if-none-match", &etag)])
        .await;
    assert_eq!(changed.status, 200);
    assert_ne!(changed.header("etag"), etag);

    let head = server.request("HEAD", "/style.css", &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), "6");
    assert_eq!(head.header("content-type"), "text/css; charset=utf-8");

    for method in ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"] {
        let r = server.request(method, "/", &[]).await;
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), "GET, HEAD");
    }
    let missing = server.get("/nope.js").await;
    assert_eq!(missing.status, 404);
    assert!(missing.text().contains("Not found"));
}

/// Sends a request line exactly as written (no client-side normalisation).
async fn raw_get(server: &TestServer, target: &[u8]) -> String {
    let mut tls = server.tls("localhost").await;
    let mut req = b"GET ".to_vec();
    req.extend_from_slice(target);
    req.extend_from_slice(b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(&req).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(WAIT, tls.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn hostile_paths_never_leave_the_root() {
    let tmp = tempfile::tempdir().unwrap();
    let server = server_with_public(tmp.path()).await;
    let hostile: &[&[u8]] = &[
        b"/../secret.txt",
        b"/img/../../secret.txt",
        b"/%2e%2e/secret.txt",
        b"/%2E%2E%2Fsecret.txt",
        b"/..%2fsecret.txt",
        b"/..%5csecret.txt",
        b"/..\\secret.txt",
        b"//secret.txt",
        b"/%2f..%2fsecret.txt",
        b"/link.txt",
        b"/up/secret.txt",
        b"/.hidden",
        b"/index.html%00",
        b"/%00",
        b"/C:/secret.txt",
        b"/%c0%ae%c0%ae/secret.txt",
        b"http://localhost/../secret.txt",
    ];
    for target in hostile {
        let response = raw_get(&server, target).await;
        let shown = String::from_utf8_lossy(target);
        assert!(
            !response.contains("TOP-SECRET"),
            "{shown} leaked the secret"
        );
        assert!(!response.contains("HIDDEN"), "{shown} served a hidden file");
        assert!(
            !response.starts_with("HTTP/1.1 200"),
            "{shown} got 200:\n{response}"
        );
        assert!(
            response.starts_with("HTTP/1.1 4"),
            "{shown} got no clear refusal:\n{response}"
        );
    }
    // The server is still fine afterwards.
    assert_eq!(server.get("/").await.status, 200);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let tmp = tempfile::tempdir().unwrap();
    let server = server_with_public(tmp.path()).await;
    let replies = vec![
        server.get("/").await,
        server.get("/app.js").await,
        server.get("/missing").await,
        server.get("/%2e%2e/x").await,
        server.request("POST", "/", &[]).await,
        server.get("/rtc").await,
        server.get("/trust").await,
        server.get("/ca.crt").await,
    ];
    for r in &replies {
        let csp = r.header("content-security-policy");
        assert!(
            csp.contains("default-src 'self'") || csp.contains("default-src 'none'"),
            "{} {csp}",
            r.status
        );
        assert!(
            !csp.contains("http:") && !csp.contains('*'),
            "CSP allows other origins: {csp}"
        );
        assert_eq!(r.header("x-content-type-options"), "nosniff");
        assert_eq!(r.header("referrer-policy"), "no-referrer");
        assert_eq!(
            r.header("permissions-policy"),
            "camera=(self), microphone=(self), display-capture=(self)"
        );
    }
    let app_csp = replies[0].header("content-security-policy");
    assert!(app_csp.contains("script-src 'self'"), "{app_csp}");
    assert!(
        app_csp.contains(&format!(
            "connect-src 'self' wss://localhost:{}",
            server.port()
        )),
        "{app_csp}"
    );
    assert!(app_csp.contains("frame-ancestors 'none'"), "{app_csp}");
}

#[tokio::test]
async fn the_embedded_copy_is_served_without_public_dir() {
    // Release builds serve the embedded copy; here we force it in a debug build.
    let server = TestServer::start_with(|c| c.assets = lanrtc::assets::Assets::embedded()).await;
    let r = server.get("/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), include_str!("../public/index.html"));
    assert_eq!(server.get("/../Cargo.toml").await.status, 400);
}

#[tokio::test]
async fn qr_codes_of_urls_are_drawn_as_svg() {
    let server = TestServer::start().await;
    let r = server
        .get("/qr.svg?data=https%3A%2F%2F10.0.0.2%3A8443%2F")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), "image/svg+xml");
    assert!(
        r.text().contains("<svg") && r.text().contains("<path"),
        "{}",
        r.text()
    );
    let other = server.get("/qr.svg?data=https%3A%2F%2Fother%2F").await;
    assert_ne!(
        r.body, other.body,
        "different data must give a different code"
    );
    for bad in [
        "/qr.svg",
        "/qr.svg?data=",
        &format!("/qr.svg?data={}", "a".repeat(2000)),
    ] {
        let r = server.get(bad).await;
        assert_eq!(r.status, 400, "{bad}");
        assert!(
            r.text().contains("data") || r.text().contains("too long"),
            "{}",
            r.text()
        );
    }
}
