//! Pipes through the appliance (`src/pipe.rs`, docs/protocol.md "File
//! transfers"): two peers of one room get the same path, whatever one end
//! sends the other receives, nobody else can use it, and a reader that
//! stops reading holds the sender back instead of filling the server.

mod common;

use std::time::Duration;

use common::{TestServer, Ws};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

fn pipe_request(target: &str, transfer: &str) -> Value {
    json!({"type":"pipe","data":{"target":target,"transfer":transfer}})
}

/// Both ends' `pipe` messages after `a` asked for one to `b`.
async fn ask(a: &mut Ws, b: &mut Ws, transfer: &str) -> String {
    let b_id = b.id.clone();
    a.send(pipe_request(&b_id, transfer)).await;
    let to_a = a.recv().await;
    let to_b = b.recv().await;
    assert_eq!(to_a["type"], "pipe", "{to_a}");
    assert_eq!(to_b["type"], "pipe", "{to_b}");
    assert_eq!(to_a["data"]["peer"], b.id.as_str());
    assert_eq!(to_b["data"]["peer"], a.id.as_str());
    for m in [&to_a, &to_b] {
        assert_eq!(m["data"]["transfer"], transfer);
    }
    assert_eq!(to_a["data"]["path"], to_b["data"]["path"]);
    to_a["data"]["path"].as_str().unwrap().to_string()
}

/// Ann and Bob in the lobby, and both ends of a pipe Ann asked for to Bob.
async fn both_ends(server: &TestServer) -> (Ws, Ws) {
    let mut ann = server.peer("Ann", 0).await;
    let mut bob = server.peer("Bob", 1).await;
    ann.recv().await; // Bob's arrival
    let path = ask(&mut ann, &mut bob, "t-1").await;
    let a = server.ws(&path, &[]).await.unwrap();
    let b = server.ws(&path, &[]).await.unwrap();
    (a, b)
}

async fn next_data(ws: &mut Ws) -> Message {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.ws.next())
            .await
            .expect("a frame in time")
            .expect("open")
            .expect("no error");
        if matches!(m, Message::Text(_) | Message::Binary(_) | Message::Close(_)) {
            return m;
        }
    }
}

#[tokio::test]
async fn two_peers_of_a_room_get_a_pipe_that_carries_both_ways() {
    let server = TestServer::start().await;
    let mut ann = server.peer_at("/rtc?room=home", "Ann", 0).await;
    let mut bob = server.peer_at("/rtc?room=home", "Bob", 1).await;
    ann.recv().await; // Bob's arrival
    let path = ask(&mut ann, &mut bob, "t-1").await;
    assert!(path.starts_with("/pipe/"), "{path}");
    assert_eq!(metric(&server, "lanrtc_pipes_waiting").await, 1.0);
    assert_eq!(metric(&server, "lanrtc_pipes_running").await, 0.0);

    let mut a = server.ws(&path, &[]).await.expect("first end");
    // The first end's frames wait for the second end.
    a.ws.send(Message::text("{\"t\":\"offer\"}")).await.unwrap();
    let mut b = server.ws(&path, &[]).await.expect("second end");
    assert_eq!(next_data(&mut b).await, Message::text("{\"t\":\"offer\"}"));
    let piece: Vec<u8> = (0..256 * 1024).map(|i| (i % 251) as u8).collect();
    a.ws.send(Message::binary(piece.clone())).await.unwrap();
    assert_eq!(next_data(&mut b).await, Message::binary(piece));
    b.ws.send(Message::text("{\"t\":\"ack\"}")).await.unwrap();
    assert_eq!(next_data(&mut a).await, Message::text("{\"t\":\"ack\"}"));
    // /metrics: one pipe running, and what it carried.
    assert_eq!(metric(&server, "lanrtc_pipes_waiting").await, 0.0);
    assert_eq!(metric(&server, "lanrtc_pipes_running").await, 1.0);
    assert_eq!(metric(&server, "lanrtc_pipes_connected_total").await, 1.0);
    assert_eq!(
        metric(&server, "lanrtc_pipe_bytes_total").await,
        (13 + 256 * 1024 + 11) as f64
    );

    // A third device cannot join a pipe in use.
    match server.ws(&path, &[]).await {
        Err(WsError::Http(res)) => assert_eq!(res.status(), 404),
        Err(e) => panic!("expected 404, got {e}"),
        Ok(_) => panic!("a third end joined the pipe"),
    }
    // One end closing ends the pipe for the other.
    a.ws.close(None).await.unwrap();
    assert!(matches!(next_data(&mut b).await, Message::Close(_)));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while metric(&server, "lanrtc_pipes_running").await != 0.0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the pipe still counts as running"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(metric(&server, "lanrtc_pipes_connected_total").await, 1.0);
}

/// One sample of `/metrics` (a name without labels).
async fn metric(server: &TestServer, name: &str) -> f64 {
    let text = server.get("/metrics").await.text();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

#[tokio::test]
async fn pipes_are_refused_across_rooms_to_strangers_and_to_bad_paths() {
    let server = TestServer::start().await;
    let mut ann = server.peer_at("/rtc?room=home", "Ann", 0).await;
    let mut eve = server.peer_at("/rtc?room=elsewhere", "Eve", 0).await;
    ann.send(pipe_request(&eve.id, "t-1")).await;
    let m = ann.recv().await;
    assert_eq!(m["data"]["code"], "unknown-target", "{m}");
    eve.quiet(Duration::from_millis(300)).await;

    // Not identified yet: no pipes.
    let mut stranger = server.client_at("/rtc?room=home").await;
    stranger.send(pipe_request(&ann.id, "t-2")).await;
    let m = stranger.recv().await;
    assert_eq!(m["data"]["code"], "not-identified", "{m}");

    // A malformed transfer id is named.
    ann.send(pipe_request(&eve.id, "../x")).await;
    let m = ann.recv().await;
    assert_eq!(m["data"]["code"], "bad-message", "{m}");
    assert!(m["data"]["message"]
        .as_str()
        .unwrap()
        .contains("data.transfer"));

    for path in [
        "/pipe/guess",
        "/pipe/",
        &format!("/pipe/{}", "0".repeat(64)),
    ] {
        match server.ws(path, &[]).await {
            Err(WsError::Http(res)) => assert_eq!(res.status(), 404, "{path}"),
            Err(e) => panic!("{path}: expected 404, got {e}"),
            Ok(_) => panic!("{path} opened"),
        }
    }
    let plain = server.get("/pipe/guess").await;
    assert_eq!(plain.status, 400);
    assert!(plain.text().contains("transfer pipe"), "{}", plain.text());
}

#[tokio::test]
async fn a_pipe_needs_the_access_key() {
    let server = TestServer::start_with(|c| {
        c.access = lanrtc::access::AccessKey::parse("open-sesame-42").unwrap()
    })
    .await;
    match server.ws("/pipe/anything", &[]).await {
        Err(WsError::Http(res)) => assert_eq!(res.status(), 401),
        Err(e) => panic!("expected 401, got {e}"),
        Ok(_) => panic!("opened without the key"),
    }
}

#[tokio::test]
async fn a_reader_that_stops_reading_holds_the_sender_back() {
    let server = TestServer::start().await;
    let (mut a, _b) = both_ends(&server).await; // b never reads
    let piece = vec![7u8; 1024 * 1024 - 64];
    let mut sent = 0usize;
    let pushing = async {
        loop {
            a.ws.send(Message::binary(piece.clone())).await.unwrap();
            sent += 1;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(3), pushing).await;
    // Socket buffers on loopback take some megabytes; the server keeps one
    // frame per direction. Without backpressure all 3 s would go through.
    eprintln!("sent {sent} MiB into a pipe nobody reads");
    assert!(sent < 24, "{sent} MiB went into a pipe nobody reads");
    assert!(sent > 0, "nothing could be sent at all");
}

#[tokio::test]
async fn a_frame_over_the_limit_ends_the_pipe_for_both() {
    let server = TestServer::start().await;
    let (mut a, mut b) = both_ends(&server).await;
    let _ = a.ws.send(Message::binary(vec![0u8; 2 * 1024 * 1024])).await;
    assert!(matches!(next_data(&mut b).await, Message::Close(_)));
}
