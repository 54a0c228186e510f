//! `/metrics` and `/healthz`: Prometheus text whose counters follow the
//! traffic, open on this machine, and behind the access key from the LAN
//! (checked from a second address inside a private network namespace).

mod common;
mod netns;
#[path = "common/webrtc_client.rs"]
mod webrtc_client;

use std::collections::HashMap;
use std::time::Duration;

use common::{TestServer, WAIT};
use serde_json::json;

/// The samples of a Prometheus text page; panics on a line that is not one.
fn samples(text: &str) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            assert!(
                line.is_empty() || line.starts_with("# HELP ") || line.starts_with("# TYPE "),
                "not Prometheus text: {line:?}"
            );
            continue;
        }
        let (name, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value: {line:?}"));
        let bare = name.split('{').next().unwrap();
        assert!(
            bare.starts_with("lanrtc_")
                && bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "bad metric name: {line:?}"
        );
        out.insert(name.to_string(), value);
    }
    out
}

async fn scrape(server: &TestServer) -> HashMap<String, f64> {
    let reply = server.get("/metrics").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply
        .header("content-type")
        .starts_with("text/plain; version=0.0.4"));
    samples(&reply.text())
}

#[tokio::test]
async fn counters_follow_the_traffic() {
    let server = TestServer::start().await;
    let health = server.get("/healthz").await;
    assert_eq!(
        (health.status.as_u16(), health.text().as_str()),
        (200, "ok\n")
    );
    let plain = common::raw_plain(
        server.addr,
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        plain.starts_with("HTTP/1.1 200") && plain.ends_with("ok\n"),
        "{plain}"
    );

    let before = scrape(&server).await;
    assert_eq!(before["lanrtc_signaling_peers"], 0.0);
    assert!(before["lanrtc_certificate_expiry_timestamp_seconds"] > 1.7e9);

    let mut a = server.peer("Ann", 0).await;
    let mut b = server.peer("Bob", 1).await;
    a.recv().await;
    for _ in 0..3 {
        a.send(json!({"type":"hangup","data":{"target":b.id}}))
            .await;
        b.recv().await;
    }
    a.send_text("not json".into()).await;
    a.recv().await;
    let (mut publisher, offer) = webrtc_client::Client::new(
        std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        str0m::media::Direction::SendOnly,
    )
    .await;
    let reply = server
        .request_body(
            "POST",
            "/whip/r",
            &[("content-type", "application/sdp")],
            offer,
        )
        .await;
    assert_eq!(reply.status, 201);
    publisher.accept(&reply.text());
    assert!(
        publisher.connect(std::time::Instant::now() + WAIT).await,
        "the publisher connects"
    );

    let after = scrape(&server).await;
    assert_eq!(
        after["lanrtc_signaling_peers"], 3.0,
        "Ann, Bob and the WHIP stream"
    );
    assert_eq!(after["lanrtc_signaling_identified_peers"], 2.0);
    assert_eq!(after["lanrtc_rooms"], 2.0, "the lobby and room r");
    assert_eq!(
        after["lanrtc_messages_relayed_total"] - before["lanrtc_messages_relayed_total"],
        3.0
    );
    assert_eq!(
        after["lanrtc_protocol_errors_total{code=\"bad-json\"}"],
        1.0
    );
    assert_eq!(after["lanrtc_media_sessions"], 1.0);
    assert_eq!(after["lanrtc_media_broadcasts"], 1.0);
    assert!(after["lanrtc_media_packets_received_total"] > 0.0);
    assert!(
        after["lanrtc_connections_total{kind=\"tls\"}"]
            > before["lanrtc_connections_total{kind=\"tls\"}"]
    );
    assert!(after["lanrtc_connections_total{kind=\"plain\"}"] >= 1.0);
    drop(publisher);
}

#[test]
fn from_the_lan_they_need_the_key() {
    netns::run_in_private_lan(
        "the /metrics access test",
        "metrics",
        "10.99.1.1",
        "10.99.1.2",
        "lan_access_inside_namespace",
        Duration::from_secs(60),
    );
}

#[test]
#[ignore = "run by from_the_lan_they_need_the_key inside its namespace"]
fn lan_access_inside_namespace() {
    if std::env::var_os(netns::INNER_ENV).is_none() {
        return;
    }
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let tmp = tempfile::tempdir().unwrap();
        let mut settings = common::settings(tmp.path());
        settings.bind = Some("0.0.0.0".into()); // only this namespace's addresses
        settings.access_key = Some("sesame-1234".into());
        let config = lanrtc::Config::load(&settings).unwrap();
        let ca = config.tls.authority.as_ref().unwrap().der.clone();
        let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(lanrtc::run(config, listener, std::future::pending()));

        // From another address of the network: refused without the key.
        let get = |path: &'static str,
                   headers: Vec<(&'static str, &'static str)>,
                   from: &'static str,
                   to: &'static str| {
            let ca = ca.clone();
            async move {
                let socket = tokio::net::TcpSocket::new_v4().unwrap();
                socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
                let tcp = socket
                    .connect(format!("{to}:{port}").parse().unwrap())
                    .await
                    .unwrap();
                let tls = tokio_rustls::TlsConnector::from(common::client_config(&ca))
                    .connect(
                        tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").unwrap(),
                        tcp,
                    )
                    .await
                    .unwrap();
                common::send_request(
                    hyper_util::rt::TokioIo::new(tls),
                    "GET",
                    path,
                    "localhost",
                    &headers,
                )
                .await
            }
        };
        for path in ["/metrics", "/healthz"] {
            let reply = get(path, vec![], "10.99.1.2", "10.99.1.1").await;
            assert_eq!(
                reply.status,
                401,
                "{path} from the LAN without the key: {}",
                reply.text()
            );
            let reply = get(
                path,
                vec![("authorization", "Bearer sesame-1234")],
                "10.99.1.2",
                "10.99.1.1",
            )
            .await;
            assert_eq!(reply.status, 200, "{path} with the key: {}", reply.text());
            let reply = get(
                path,
                vec![("authorization", "Bearer nope-nope-1")],
                "10.99.1.2",
                "10.99.1.1",
            )
            .await;
            assert_eq!(reply.status, 401, "{path} with a wrong key");
            // On this machine it is open.
            let reply = get(path, vec![], "127.0.0.1", "127.0.0.1").await;
            assert_eq!(reply.status, 200, "{path} from loopback: {}", reply.text());
        }
    });
}
