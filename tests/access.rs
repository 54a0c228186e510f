//! ACCESS_KEY: without the key a browser gets a 401 page and a socket a 401;
//! a link with the key sets an HttpOnly, Secure, SameSite=Strict cookie and
//! redirects to the clean URL; the trust helpers stay open.

mod common;

use common::{raw_plain, TestServer, Ws};
use lanrtc::access::AccessKey;
use tokio_tungstenite::tungstenite::Error as WsError;

const KEY: &str = "open-sesame-42";

async fn keyed_server() -> TestServer {
    TestServer::start_with(|c| c.access = AccessKey::parse(KEY).unwrap()).await
}

fn refused_with(result: Result<Ws, WsError>) -> (u16, String) {
    match result {
        Err(WsError::Http(res)) => (
            res.status().as_u16(),
            String::from_utf8_lossy(res.body().as_deref().unwrap_or_default()).into_owned(),
        ),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("expected an HTTP refusal, got an open socket"),
    }
}

#[tokio::test]
async fn pages_need_the_key_and_a_link_lets_the_browser_in() {
    let server = keyed_server().await;

    // No key: a page that says how to get in, for every app path.
    for path in [
        "/",
        "/r/team",
        "/style.css",
        "/js/main.js",
        "/qr.svg?data=x",
        "/nope",
    ] {
        let r = server.get(path).await;
        assert_eq!(r.status, 401, "{path}");
        assert!(r.header("content-type").starts_with("text/html"), "{path}");
        assert!(
            r.text().contains("Ask the person running lanrtc"),
            "{path}: {}",
            r.text()
        );
        assert!(!r.text().contains(KEY));
        assert!(!r.header("www-authenticate").is_empty(), "{path}");
    }

    // The trust helpers stay open, so a phone can install the authority first.
    for path in ["/ca.crt", "/ca.mobileconfig", "/trust"] {
        assert_eq!(server.get(path).await.status, 200, "{path}");
    }

    // A wrong key says so.
    let wrong = server.get("/?key=open-sesame-41").await;
    assert_eq!(wrong.status, 401);
    assert!(
        wrong.text().contains("not this server's key"),
        "{}",
        wrong.text()
    );

    // The link with the key: a cookie, and a redirect to the clean URL.
    let link = server.get(&format!("/r/team?lang=en&key={KEY}")).await;
    assert_eq!(link.status, 303, "{}", link.text());
    assert_eq!(link.header("location"), "/r/team?lang=en");
    let cookie = link.header("set-cookie");
    let name = format!("lanrtc_key_{}", server.port());
    assert!(cookie.starts_with(&format!("{name}={KEY};")), "{cookie}");
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }

    // With the cookie, the app is served; with another value it is not.
    let good = format!("other=1; {name}={KEY}");
    let page = server.request("GET", "/r/team", &[("cookie", &good)]).await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("<title>lanrtc</title>"));
    let css = server
        .request("GET", "/style.css", &[("cookie", &good)])
        .await;
    assert_eq!(css.status, 200);
    let bad = format!("{name}=open-sesame-41");
    assert_eq!(
        server.request("GET", "/", &[("cookie", &bad)]).await.status,
        401
    );
    // Another port's cookie (another server on this machine) does not count.
    let elsewhere = format!("lanrtc_key_1={KEY}");
    assert_eq!(
        server
            .request("GET", "/", &[("cookie", &elsewhere)])
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn a_link_opened_from_another_site_moves_on_by_itself() {
    // A redirect chain that starts on another site would leave the
    // SameSite=Strict cookie off the redirected request; a page of ours that
    // navigates on its own is same-site.
    let server = keyed_server().await;
    let r = server
        .request(
            "GET",
            &format!("/?key={KEY}"),
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.header("set-cookie").contains("SameSite=Strict"));
    assert!(
        r.text()
            .contains(r#"http-equiv="refresh" content="0; url=/""#),
        "{}",
        r.text()
    );
    assert!(!r.text().contains(KEY));
}

#[tokio::test]
async fn redirect_never_leaves_the_server() {
    let server = keyed_server().await;
    let r = server.get(&format!("//evil.example/?key={KEY}")).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), "/");
}

#[tokio::test]
async fn sockets_need_the_key() {
    let server = keyed_server().await;
    let (status, body) = refused_with(server.ws("/rtc", &[]).await);
    assert_eq!(status, 401);
    assert!(body.contains("access key"), "{body}");
    let (status, _) = refused_with(server.ws("/rtc?key=nope-nope-nope", &[]).await);
    assert_eq!(status, 401);
    // The key check comes before anything else about the request.
    let (status, _) = refused_with(server.ws("/rtc?room=bad%20name", &[]).await);
    assert_eq!(status, 401);

    // With the cookie (what a browser sends) or the key in the URL (a native
    // client), the socket opens; `ready` hands the key to the page for its
    // share links.
    let cookie = format!("lanrtc_key_{}={KEY}", server.port());
    let mut ws = server
        .ws("/rtc?room=team", &[("cookie", &cookie)])
        .await
        .unwrap();
    let ready = ws.recv().await;
    assert_eq!(ready["type"], "ready");
    assert_eq!(ready["accessKey"], KEY);
    let mut native = server.ws(&format!("/rtc?key={KEY}"), &[]).await.unwrap();
    assert_eq!(native.recv().await["type"], "ready");
}

#[tokio::test]
async fn plain_http_keeps_the_key_on_its_way_to_https() {
    let server = keyed_server().await;
    let reply = raw_plain(
        server.addr,
        &format!("GET /r/team?key={KEY} HTTP/1.1\r\nHost: box:8443\r\nConnection: close\r\n\r\n"),
    )
    .await;
    // The landing, which takes the key on to https itself (trust.js).
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("data-mode=\"landing\""), "{reply}");
    let reply = raw_plain(
        server.addr,
        &format!(
            "GET /js/main.js?key={KEY} HTTP/1.1\r\nHost: box:8443\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 308"), "{reply}");
    assert!(
        reply.contains(&format!("location: https://box:8443/js/main.js?key={KEY}")),
        "{reply}"
    );
    let crt = raw_plain(
        server.addr,
        "GET /ca.crt HTTP/1.1\r\nHost: box\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(crt.starts_with("HTTP/1.1 200"), "{crt}");
}

#[tokio::test]
async fn open_server_hands_out_no_key() {
    let server = TestServer::start().await;
    assert_eq!(server.get("/").await.status, 200);
    let mut ws = server.ws("/rtc", &[]).await.unwrap();
    let ready = ws.recv().await;
    assert!(ready.get("accessKey").is_none(), "{ready}");
}

/// The plain-HTTP landing is shared (banner, `ready.landing`) only with the
/// generated authority and no access key: the key never travels in a plain
/// link, and a certificate from KEY/CERT needs no trusting.
#[test]
fn the_landing_is_offered_only_without_a_key_and_with_the_generated_authority() {
    let tmp = tempfile::tempdir().unwrap();
    let certs = tmp.path().join("certs");
    let open = common::settings(&certs);
    assert!(lanrtc::Config::load(&open).unwrap().offers_landing());

    let mut keyed = common::settings(&certs);
    keyed.access_key = Some("auto".into());
    assert!(!lanrtc::Config::load(&keyed).unwrap().offers_landing());

    // The pair the authority just issued, given as KEY/CERT.
    let mut files = common::settings(&certs);
    files.key = Some(certs.join("key.pem"));
    files.cert = Some(certs.join("cert.pem"));
    assert!(!lanrtc::Config::load(&files).unwrap().offers_landing());
}
