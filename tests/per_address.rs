//! One host cannot crowd out the others: past its share of connections, TLS
//! handshakes in progress or signaling sockets it is refused, while a second
//! address (127.0.0.2, another host as far as the server can tell) still
//! gets in and calls.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::{TestServer, WAIT};
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

const FIRST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1));
const SECOND: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

/// The second host can still load the app and make a call.
async fn second_host_gets_in_and_calls(server: &TestServer) {
    let tls = server
        .tls_from(SECOND)
        .await
        .expect("the second host connects");
    let reply = common::send_request(
        hyper_util::rt::TokioIo::new(tls),
        "GET",
        "/",
        "localhost",
        &[],
    )
    .await;
    assert_eq!(reply.status, 200);
    let mut a = server
        .client_from(SECOND, "/rtc")
        .await
        .expect("a signaling socket");
    a.identify("Ann").await;
    let mut b = server
        .client_from(SECOND, "/rtc")
        .await
        .expect("a second one");
    b.identify("Bob").await;
    let _ = a.recv().await; // Bob joined
    a.send(json!({"type":"offer","data":{"target":b.id,"sdp":"v=0","type":"offer"}}))
        .await;
    loop {
        let m = b.recv().await;
        if m["type"] == "offer" {
            assert_eq!(m["data"]["source"], a.id.as_str());
            break;
        }
    }
}

/// Whether the server closes `tcp` at once (reads end) rather than waiting.
async fn closed_at_once(mut tcp: TcpStream) -> bool {
    let mut buf = [0u8; 16];
    matches!(
        tokio::time::timeout(Duration::from_secs(2), tcp.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test]
async fn one_host_cannot_fill_max_peers() {
    let server = TestServer::start_with(|c| c.limits.max_peers = 10).await;
    let mut held = Vec::new();
    let refusal = loop {
        match server.ws("/rtc", &[]).await {
            Ok(ws) => held.push(ws),
            Err(err) => break err,
        }
        assert!(held.len() <= 10, "the first host took every place");
    };
    assert_eq!(held.len(), 5, "one address may hold half of MAX_PEERS");
    let text = match refusal {
        tokio_tungstenite::tungstenite::Error::Http(res) => {
            assert_eq!(res.status(), 503);
            String::from_utf8_lossy(res.body().as_deref().unwrap_or_default()).into_owned()
        }
        other => panic!("expected a 503, got {other:?}"),
    };
    assert!(text.contains("MAX_PEERS_PER_ADDRESS"), "{text}");
    second_host_gets_in_and_calls(&server).await;
}

#[tokio::test]
async fn silent_sockets_and_unfinished_handshakes_cost_only_their_host() {
    let server = TestServer::start_with(|c| c.limits.per_address = [20, 5, 64]).await;
    // Five sockets that never say anything hold the host's five handshakes.
    let mut silent = Vec::new();
    for _ in 0..5 {
        silent.push(TcpStream::connect(server.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        closed_at_once(TcpStream::connect(server.addr).await.unwrap()).await,
        "a sixth handshake must be refused"
    );
    second_host_gets_in_and_calls(&server).await;
    drop(silent);

    // Twenty open connections are the host's limit; the next is closed.
    let mut open = Vec::new();
    for _ in 0..20 {
        let mut tls = server.tls("localhost").await;
        let _ = tokio::time::timeout(Duration::from_millis(10), tls.read(&mut [0u8; 1])).await;
        open.push(tls);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        closed_at_once(TcpStream::connect(server.addr).await.unwrap()).await,
        "a 21st connection must be refused"
    );
    second_host_gets_in_and_calls(&server).await;
    drop(open);
    // Places come back when the connections go.
    let deadline = std::time::Instant::now() + WAIT;
    while server.tls_from(FIRST).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the first host never got its places back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped() {
    // A 64 MiB file: far more than the kernel's socket buffers hold.
    let app = tempfile::tempdir().unwrap();
    std::fs::write(app.path().join("index.html"), "<!doctype html>").unwrap();
    std::fs::write(app.path().join("big.bin"), vec![7u8; 64 << 20]).unwrap();
    let certs = tempfile::tempdir().unwrap();
    let mut settings = common::settings(certs.path());
    settings.public_dir = Some(app.path().to_path_buf());
    let server = TestServer::start_settings(settings, |c| {
        c.limits.write_timeout = Duration::from_secs(1)
    })
    .await;
    // Plain HTTP on this port serves only the small trust helpers, which
    // fit in the socket buffers; the same deadline wraps it (src/server.rs).
    use tokio::io::AsyncWriteExt;
    let mut tls = server.tls("localhost").await;
    tls.write_all(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await; // not reading
    let received = read_all(&mut tls).await;
    assert!(
        received < 64 << 20,
        "the whole file went to a client that stopped reading"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3) + WAIT,
        "the connection was not dropped"
    );
}

/// Reads until the server ends the connection (or `WAIT` of silence).
async fn read_all<R: tokio::io::AsyncRead + Unpin>(r: &mut R) -> usize {
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0;
    while let Ok(Ok(n)) = tokio::time::timeout(WAIT, r.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        total += n;
    }
    total
}
