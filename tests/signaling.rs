//! The signaling protocol at /rtc, point by point as docs/protocol.md states
//! it, against the real server over wss:// with a client that trusts only the
//! generated authority.

mod common;

use std::time::Duration;

use common::{Ending, TestServer, Ws};
use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

const SHORT: Duration = Duration::from_millis(300);

fn status_of(result: Result<Ws, WsError>) -> u16 {
    match result {
        Err(WsError::Http(res)) => res.status().as_u16(),
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("expected an HTTP refusal, got an open socket"),
    }
}

fn offer_to(target: &str, sdp: &str) -> Value {
    json!({"type":"offer","data":{"type":"offer","sdp":sdp,"target":target}})
}

async fn expect_error(ws: &mut Ws, code: &str, r#ref: Option<&str>) -> Value {
    let m = ws.recv().await;
    assert_eq!(m["type"], "error", "{m}");
    assert_eq!(m["data"]["code"], code, "{m}");
    assert!(
        m["data"]["message"].as_str().is_some_and(|s| s.len() > 10),
        "{m}"
    );
    match r#ref {
        Some(r) => assert_eq!(m["data"]["ref"], r, "{m}"),
        None => assert!(m["data"].get("ref").is_none(), "{m}"),
    }
    m
}

// 1. Endpoint, other paths, plain GET, origin, subprotocol.

#[tokio::test]
async fn endpoint_paths_origin_and_subprotocol() {
    let server = TestServer::start().await;
    let started = std::time::Instant::now();
    assert_eq!(status_of(server.ws("/other", &[]).await), 404);
    assert_eq!(status_of(server.ws("/rtc/x", &[]).await), 404);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refusals must be immediate"
    );

    let plain = server.get("/rtc").await;
    assert_eq!(plain.status, 400);
    assert!(plain.text().contains("WebSocket"), "{}", plain.text());

    let evil = server
        .ws("/rtc", &[("origin", "https://evil.example")])
        .await;
    assert_eq!(status_of(evil), 403);
    let other_port = server
        .ws("/rtc", &[("origin", "https://localhost:1")])
        .await;
    assert_eq!(status_of(other_port), 403);
    let own = format!("https://localhost:{}", server.port());
    let mut ok = server
        .ws("/rtc", &[("origin", &own)])
        .await
        .expect("same origin is allowed");
    assert_eq!(ok.recv().await["type"], "ready");

    let ws = server
        .ws("/rtc", &[("sec-websocket-protocol", "userid, 1234")])
        .await
        .unwrap();
    assert_eq!(
        ws.response_headers.get("sec-websocket-protocol").unwrap(),
        "userid"
    );
}

// 2. ready.

#[tokio::test]
async fn ready_gives_a_fresh_uuid_the_asset_version_and_ice_servers() {
    let server = TestServer::start().await;
    let mut a = server.ws("/rtc", &[]).await.unwrap();
    let mut b = server.ws("/rtc", &[]).await.unwrap();
    let (ra, rb) = (a.recv().await, b.recv().await);
    for r in [&ra, &rb] {
        assert_eq!(r["type"], "ready");
        let id = uuid::Uuid::parse_str(r["id"].as_str().unwrap()).unwrap();
        assert_eq!(id.get_version_num(), 4);
        assert_eq!(r["iceServers"], json!([]));
    }
    assert_ne!(ra["id"], rb["id"]);
    let version = lanrtc::assets::Assets::default_for_build().version().await;
    assert_eq!(ra["version"], version.as_str());
    assert_eq!(ra["version"], rb["version"]);

    let server =
        TestServer::start_with(|c| c.ice_servers = vec!["stun:10.0.0.1:3478".into()]).await;
    let r = server.client().await;
    drop(r);
    let mut ws = server.ws("/rtc", &[]).await.unwrap();
    assert_eq!(
        ws.recv().await["iceServers"],
        json!([{"urls":"stun:10.0.0.1:3478"}])
    );
}

// 3. identify: listing, renames, forged ids, name cleaning, unidentified peers.

#[tokio::test]
async fn identify_lists_newcomers_and_existing_peers() {
    let server = TestServer::start().await;
    let mut a = server.peer("Ann", 0).await;
    let mut b = server.client().await;
    b.identify("Bob").await;
    let listed = b.recv().await;
    assert_eq!(
        listed,
        json!({"type":"peer","data":{"id":a.id,"name":"Ann"}})
    );
    assert_eq!(
        a.recv().await,
        json!({"type":"peer","data":{"id":b.id,"name":"Bob"}})
    );

    // A connection that never identified is invisible and cannot relay.
    let mut lurker = server.client().await;
    lurker.send(offer_to(&a.id, "v=0")).await;
    expect_error(&mut lurker, "not-identified", Some("offer")).await;
    a.send(offer_to(&lurker.id, "v=0")).await;
    expect_error(&mut a, "unknown-target", Some("offer")).await;

    // Rename: everyone else hears it, the renamer does not.
    b.identify("Bobby").await;
    assert_eq!(
        a.recv().await,
        json!({"type":"peer","data":{"id":b.id,"name":"Bobby"}})
    );
    b.quiet(SHORT).await;

    // The third peer gets both, once each.
    let mut c = server.client().await;
    c.identify("Cy").await;
    let mut names = vec![c.recv().await, c.recv().await]
        .into_iter()
        .map(|m| m["data"]["name"].as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    names.sort();
    assert_eq!(names, ["Ann", "Bobby"]);
    c.quiet(SHORT).await;
    lurker.quiet(SHORT).await;
}

#[tokio::test]
async fn identify_with_someone_elses_id_is_refused_and_changes_nothing() {
    let server = TestServer::start().await;
    let mut a = server.peer("Ann", 0).await;
    let mut b = server.peer("Bob", 1).await;
    assert_eq!(a.recv().await["data"]["name"], "Bob");
    let a_id = a.id.clone();
    b.send(json!({"type":"identify","data":{"id":a_id,"name":"Evil"}}))
        .await;
    expect_error(&mut b, "bad-id", Some("identify")).await;
    a.quiet(SHORT).await;
    // Still usable afterwards.
    b.identify("Bob2").await;
    assert_eq!(a.recv().await["data"]["name"], "Bob2");
}

/// A client that has received `ready`, with the rejoin token it carried.
async fn client_with_token(server: &TestServer, path: &str) -> (Ws, String) {
    let mut ws = server.ws(path, &[]).await.unwrap();
    let ready = ws.recv().await;
    ws.id = ready["id"].as_str().unwrap().to_string();
    let token = ready["rejoin"].as_str().expect("ready has a rejoin token");
    (ws, token.to_string())
}

fn identify_rejoining(id: &str, name: &str, was: &str, token: &str) -> Value {
    json!({"type":"identify","data":{"id":id,"name":name,"rejoin":{"id":was,"token":token}}})
}

#[tokio::test]
async fn a_page_back_on_a_new_connection_is_announced_as_the_id_it_proves() {
    let server = TestServer::start().await;
    let mut a = server.peer("Ann", 0).await;
    let (mut b, token) = client_with_token(&server, "/rtc").await;
    assert_eq!(token.len(), 43, "{token}");
    b.identify("Bob").await;
    assert_eq!(b.recv().await["data"]["name"], "Ann");
    assert_eq!(a.recv().await["data"]["id"], b.id.as_str());

    // Bob's Wi-Fi blinked: his page is back on a new connection while the
    // server still holds the old one, and says which id it had.
    let mut b2 = server.client().await;
    b2.send(identify_rejoining(&b2.id, "Bob", &b.id, &token))
        .await;
    assert_eq!(b2.recv().await["data"]["name"], "Ann");
    // Ann hears the new id with the one it replaces, then the old one go.
    let was = b.id.clone();
    replaced(&mut a, &b2, "Bob", &was, &mut b, "Bob").await;
    assert_eq!(b2.recv().await["data"]["remove"], true);
    // A rename still says it, for a peer that reconnected in between.
    b2.identify("Bobby").await;
    assert_eq!(
        a.recv().await,
        json!({"type":"peer","data":{"id":b2.id,"name":"Bobby","was":b.id}})
    );
    // And a newcomer learns it too.
    let mut c = server.client().await;
    c.identify("Cy").await;
    let listed = [c.recv().await, c.recv().await];
    assert!(
        listed.contains(&json!({"type":"peer","data":{"id":b2.id,"name":"Bobby","was":b.id}})),
        "{listed:?}"
    );
    // The new id is reachable.
    assert_eq!(b2.recv().await["data"]["name"], "Cy");
    a.send(offer_to(&b2.id, "v=0")).await;
    assert_eq!(b2.recv().await["data"]["source"], a.id.as_str());

    assert_eq!(a.recv().await["data"]["name"], "Cy");
    // The same proof once more (a connection of that page left behind in
    // between): the newest wins, and the one it supersedes is closed.
    let mut b3 = server.client().await;
    b3.send(identify_rejoining(&b3.id, "Bob", &b.id, &token))
        .await;
    replaced(&mut a, &b3, "Bob", &was, &mut b2, "Bobby").await;
    // Its list names Ann and Cy, not the connection it superseded.
    let mut names =
        [b3.recv().await, b3.recv().await].map(|m| m["data"]["name"].as_str().unwrap().to_string());
    names.sort();
    assert_eq!(names, ["Ann", "Cy"]);
}

/// `watcher` hears `new` announced as `name`, the same device as `was`,
/// then `old` (last named `old_name`) removed; `old` is closed with 4000.
async fn replaced(watcher: &mut Ws, new: &Ws, name: &str, was: &str, old: &mut Ws, old_name: &str) {
    assert_eq!(
        watcher.recv().await,
        json!({"type":"peer","data":{"id":new.id,"name":name,"was":was}})
    );
    assert_eq!(
        watcher.recv().await,
        json!({"type":"peer","data":{"id":old.id,"name":old_name,"remove":true}})
    );
    assert_eq!(old.closed().await, Ending::Closed(Some(4000)));
}

#[tokio::test]
async fn a_rejoin_that_proves_nothing_lists_a_newcomer_and_closes_no_one() {
    let server = TestServer::start().await;
    let (mut a, a_token) = client_with_token(&server, "/rtc").await;
    a.identify("Ann").await;
    let (mut r, r_token) = client_with_token(&server, "/rtc?room=attic").await;
    r.identify("Ron").await;
    let (mut b, _) = client_with_token(&server, "/rtc").await;
    let forged = format!("{}A", &a_token[..42]);
    for (was, token, what) in [
        (a.id.clone(), forged.as_str(), "a forged token"),
        (a.id.clone(), "", "an empty token"),
        (
            r.id.clone(),
            r_token.as_str(),
            "another room's id and token",
        ),
        (b.id.clone(), a_token.as_str(), "someone else's token"),
        ("not-a-uuid".to_string(), a_token.as_str(), "a malformed id"),
    ] {
        let mut c = server.client().await;
        c.send(identify_rejoining(&c.id, "Cy", &was, token)).await;
        let m = expect_error(&mut c, "bad-rejoin", Some("identify")).await;
        assert!(
            m["data"]["message"].as_str().unwrap().contains("newcomer"),
            "{what}: {m}"
        );
        assert_eq!(c.recv().await["data"]["name"], "Ann", "{what}");
        assert_eq!(
            a.recv().await,
            json!({"type":"peer","data":{"id":c.id,"name":"Cy"}}),
            "{what}"
        );
        drop(c);
        assert_eq!(a.recv().await["data"]["remove"], true, "{what}");
    }
    // Everyone else is still connected and was told nothing else.
    a.quiet(SHORT).await;
    r.quiet(SHORT).await;
    let metrics = server.get("/metrics").await.text();
    assert!(
        metrics.contains("lanrtc_protocol_errors_total{code=\"bad-rejoin\"} 5"),
        "{metrics}"
    );
    // A well-formed but wrongly typed rejoin is a bad message.
    b.send(json!({"type":"identify","data":{"id":b.id,"name":"B","rejoin":"x"}}))
        .await;
    expect_error(&mut b, "bad-message", Some("identify")).await;
}

#[tokio::test]
async fn names_are_cleaned() {
    let server = TestServer::start().await;
    let mut a = server.peer("Ann", 0).await;
    let mut b = server.peer("Bob", 1).await;
    a.recv().await;
    for (raw, shown) in [
        ("  Zoë  ".to_string(), "Zoë".to_string()),
        (
            "a\u{0000}b\u{0007}c\u{202E}d\n".to_string(),
            "abcd".to_string(),
        ),
        ("".to_string(), "Anonymous".to_string()),
        ("\t x \t".to_string(), "x".to_string()),
        ("   ".to_string(), "Anonymous".to_string()),
        ("x".repeat(60_000), "x".repeat(64)),
    ] {
        b.identify(&raw).await;
        assert_eq!(a.recv().await["data"]["name"], shown.as_str());
    }
    let b_id = b.id.clone();
    b.send(json!({"type":"identify","data":{"id":b_id}})).await;
    assert_eq!(a.recv().await["data"]["name"], "Anonymous");
    // The same name again tells no one anything new.
    b.identify("Anonymous").await;
    a.quiet(SHORT).await;
}

#[tokio::test]
async fn ping_is_answered_with_pong_identified_or_not() {
    let server = TestServer::start().await;
    let mut fresh = server.client().await;
    fresh.send(json!({"type":"ping"})).await;
    assert_eq!(fresh.recv().await, json!({"type":"pong"}));
    let mut ann = server.peer("Ann", 0).await;
    ann.send(json!({"type":"ping"})).await;
    assert_eq!(ann.recv().await, json!({"type":"pong"}));
    // Nobody else hears of it.
    fresh.quiet(SHORT).await;
}

// 4. Relays.

async fn exchange_candidates(from: &mut Ws, to: &mut Ws) {
    let cand = json!({"candidate":"candidate:1 1 udp 2122260223 10.99.1.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0});
    from.send(
        json!({"type":"icecandidate","data":{"id":"forged","target":to.id,"candidate":cand}}),
    )
    .await;
    let got = to.recv().await;
    assert_eq!(got["type"], "icecandidate");
    assert_eq!(
        got["data"]["id"],
        from.id.as_str(),
        "SitePen clients read data.id"
    );
    assert_eq!(got["data"]["source"], from.id.as_str());
    assert_eq!(got["data"]["candidate"], cand);
    from.send(json!({"type":"icecandidate","data":{"target":to.id,"candidate":null}}))
        .await;
    assert_eq!(to.recv().await["data"]["candidate"], Value::Null);
}

#[tokio::test]
async fn a_call_is_relayed_with_server_stamped_sources_and_a_third_peer_sees_nothing() {
    let server = TestServer::start().await;
    let mut a = server.peer("Ann", 0).await;
    let mut b = server.peer("Bob", 1).await;
    a.recv().await;
    let mut c = server.peer("Cy", 2).await;
    a.recv().await;
    b.recv().await;

    let sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n".repeat(100);
    a.send(json!({"type":"offer","data":{"type":"offer","sdp":sdp,"target":b.id,"source":"forged","extra":[1,2]}}))
        .await;
    let offer = b.recv().await;
    assert_eq!(offer["type"], "offer");
    assert_eq!(
        offer["data"]["source"],
        a.id.as_str(),
        "source must be stamped by the server"
    );
    assert_eq!(offer["data"]["sdp"], sdp.as_str());
    assert_eq!(offer["data"]["type"], "offer");
    assert_eq!(
        offer["data"]["extra"],
        json!([1, 2]),
        "unknown fields pass through"
    );
    assert_eq!(offer["data"]["target"], b.id.as_str());

    b.send(json!({"type":"accept","data":{"type":"answer","sdp":"v=0 answer","target":a.id}}))
        .await;
    let accept = a.recv().await;
    assert_eq!(accept["type"], "accept");
    assert_eq!(accept["data"]["source"], b.id.as_str());
    assert_eq!(accept["data"]["sdp"], "v=0 answer");

    exchange_candidates(&mut a, &mut b).await;
    exchange_candidates(&mut b, &mut a).await;

    a.send(json!({"type":"hangup","data":{"target":b.id}}))
        .await;
    let hangup = b.recv().await;
    assert_eq!(
        hangup,
        json!({"type":"hangup","data":{"target":b.id,"source":a.id}})
    );
    b.send(json!({"type":"reject","data":{"target":a.id,"reason":"busy"}}))
        .await;
    let reject = a.recv().await;
    assert_eq!(reject["data"]["reason"], "busy");
    assert_eq!(reject["data"]["source"], b.id.as_str());

    c.quiet(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn unknown_targets_are_reported_to_the_sender_only() {
    let server = TestServer::start().await;
    let mut a = server.peer("Ann", 0).await;
    let b = server.peer("Bob", 1).await;
    a.recv().await;
    let a_id = a.id.clone();
    for target in [
        a_id.as_str(),
        "not-a-uuid",
        &uuid::Uuid::new_v4().to_string(),
    ] {
        a.send(offer_to(target, "v=0")).await;
        expect_error(&mut a, "unknown-target", Some("offer")).await;
    }
    let b_id = b.id.clone();
    drop(b);
    assert_eq!(a.recv().await["data"]["remove"], true);
    a.send(json!({"type":"hangup","data":{"target":b_id}}))
        .await;
    expect_error(&mut a, "unknown-target", Some("hangup")).await;
}

// 5. Removal on every kind of ending.

#[tokio::test]
async fn leaving_peers_are_announced_whether_they_close_or_vanish() {
    let server = TestServer::start().await;
    let mut watcher = server.peer("Watcher", 0).await;
    let mut clean = server.peer("Clean", 1).await;
    watcher.recv().await;
    let vanish = server.peer("Vanish", 2).await;
    watcher.recv().await;
    clean.recv().await;

    clean.ws.close(None).await.unwrap();
    let gone = watcher.recv().await;
    assert_eq!(
        gone,
        json!({"type":"peer","data":{"id":clean.id,"name":"Clean","remove":true}})
    );

    // Dropping the TCP connection without a close frame.
    let vanish_id = vanish.id.clone();
    drop(vanish);
    let gone = watcher.recv().await;
    assert_eq!(gone["data"]["id"], vanish_id.as_str());
    assert_eq!(gone["data"]["remove"], true);

    // A newcomer sees only the live peer.
    let mut late = server.peer("Late", 1).await;
    late.quiet(SHORT).await;
}

#[tokio::test]
async fn a_clients_ping_is_answered_and_its_close_echoed() {
    // The server's writer is its own, so the protocol's replies (a pong, the
    // close echo) travel through the connection's queue: pin that they come.
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, CloseFrame};
    let server = TestServer::start().await;
    let mut a = server.peer("Ann", 0).await;
    a.ws.send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .unwrap();
    let pong = tokio::time::timeout(common::WAIT, async {
        loop {
            match a.ws.next().await {
                Some(Ok(Message::Pong(p))) => break p,
                Some(Ok(_)) => continue,
                other => panic!("the socket ended before the pong: {other:?}"),
            }
        }
    })
    .await
    .expect("a pong within the wait");
    assert_eq!(&pong[..], b"are you there");

    a.ws.send(Message::Close(Some(CloseFrame {
        code: CloseCode::Away,
        reason: "bye".into(),
    })))
    .await
    .unwrap();
    let mut echoed = None;
    let ended = tokio::time::timeout(common::WAIT, async {
        while let Some(m) = a.ws.next().await {
            match m {
                Ok(Message::Close(frame)) => echoed = frame.map(|f| u16::from(f.code)),
                Ok(_) => continue,
                Err(e) => panic!("the close handshake broke: {e}"),
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the server did not end the connection");
    assert_eq!(echoed, Some(1001), "the close code echoed back");
}

// 6. Errors.

#[tokio::test]
async fn every_error_code_and_the_connection_stays_usable() {
    let server = TestServer::start().await;
    let mut a = server.peer("Ann", 0).await;
    let mut b = server.peer("Bob", 1).await;
    a.recv().await;
    let cases: Vec<(String, &str, Option<&str>)> = vec![
        ("{nope".into(), "bad-json", None),
        ("[1,2,3]".into(), "bad-json", None),
        ("{\"data\":{}}".into(), "bad-message", None),
        (
            json!({"type":"offer","data":{"target":b.id}}).to_string(),
            "bad-message",
            Some("offer"),
        ),
        (
            json!({"type":"accept","data":{"target":b.id,"sdp":5}}).to_string(),
            "bad-message",
            Some("accept"),
        ),
        (
            json!({"type":"icecandidate","data":{"target":b.id}}).to_string(),
            "bad-message",
            Some("icecandidate"),
        ),
        (
            json!({"type":"reject","data":{}}).to_string(),
            "bad-message",
            Some("reject"),
        ),
        (
            json!({"type":"identify","data":{"name":"x"}}).to_string(),
            "bad-message",
            Some("identify"),
        ),
        (
            json!({"type":"teleport","data":{}}).to_string(),
            "unknown-type",
            Some("teleport"),
        ),
        (
            json!({"type":"identify","data":{"id":"someone-else","name":"x"}}).to_string(),
            "bad-id",
            Some("identify"),
        ),
        (
            offer_to("nobody", "v=0").to_string(),
            "unknown-target",
            Some("offer"),
        ),
    ];
    for (text, code, r#ref) in cases {
        a.send_text(text).await;
        expect_error(&mut a, code, r#ref).await;
    }
    b.quiet(SHORT).await;
    a.send(offer_to(&b.id, "v=0 still works")).await;
    assert_eq!(b.recv().await["data"]["sdp"], "v=0 still works");
}

// 7. Limits.

#[tokio::test]
async fn oversized_and_binary_frames_close_only_their_socket() {
    let server = TestServer::start().await;
    let mut watcher = server.peer("Watcher", 0).await;

    let mut big = server.peer("Big", 1).await;
    watcher.recv().await;
    let big_id = big.id.clone();
    big.send_text(
        json!({"type":"offer","data":{"target":watcher.id,"sdp":"x".repeat(70 * 1024)}})
            .to_string(),
    )
    .await;
    assert_eq!(big.closed().await, Ending::Closed(Some(1009)));
    let gone = watcher.recv().await;
    assert_eq!(
        (
            gone["data"]["id"].as_str(),
            gone["data"]["remove"].as_bool()
        ),
        (Some(big_id.as_str()), Some(true))
    );

    // A 1 MiB name never reaches anyone.
    let mut huge = server.client().await;
    let id = huge.id.clone();
    let _ = huge
        .ws
        .send(Message::text(
            json!({"type":"identify","data":{"id":id,"name":"n".repeat(1 << 20)}}).to_string(),
        ))
        .await;
    assert_eq!(huge.closed().await, Ending::Closed(Some(1009)));

    let mut binary = server.peer("Bin", 1).await;
    watcher.recv().await;
    binary
        .ws
        .send(Message::binary(vec![1, 2, 3]))
        .await
        .unwrap();
    assert_eq!(binary.closed().await, Ending::Closed(Some(1003)));
    assert_eq!(watcher.recv().await["data"]["remove"], true);
    watcher.quiet(SHORT).await;

    // A message just under the limit is fine.
    let mut ok = server.peer("Ok", 1).await;
    watcher.recv().await;
    ok.send(offer_to(&watcher.id, &"y".repeat(60 * 1024))).await;
    assert_eq!(
        watcher.recv().await["data"]["sdp"].as_str().map(str::len),
        Some(60 * 1024)
    );
}

#[tokio::test]
async fn a_call_setup_never_trips_the_default_rate_limit() {
    let server = TestServer::start().await;
    let mut a = server.peer("Ann", 0).await;
    let mut b = server.peer("Bob", 1).await;
    a.recv().await;
    a.send(offer_to(&b.id, "v=0")).await;
    for i in 0..60 {
        a.send(json!({"type":"icecandidate","data":{"target":b.id,"candidate":{"candidate":format!("c{i}")}}})).await;
    }
    assert_eq!(b.recv().await["type"], "offer");
    for i in 0..60 {
        assert_eq!(
            b.recv().await["data"]["candidate"]["candidate"],
            format!("c{i}")
        );
    }
    a.quiet(SHORT).await;
}

#[tokio::test]
async fn a_flooder_is_told_why_before_it_is_closed() {
    // Found from outside: 561 relays in 10 ms, and the client saw only a
    // TCP reset. It must read its errors and then the 1008 close frame.
    let server = TestServer::start().await;
    let mut a = server.peer("Ann", 0).await;
    let b = server.peer("Bob", 1).await;
    a.recv().await;
    let relay = json!({"type":"hangup","data":{"target":b.id}}).to_string();
    for _ in 0..600 {
        if a.ws.feed(Message::text(relay.clone())).await.is_err() {
            break;
        }
    }
    let _ = a.ws.flush().await;
    let mut limited = 0;
    let end = loop {
        match a.next_within(common::WAIT).await {
            Ok(m) => {
                assert_eq!(m["data"]["code"], "rate-limited", "{m}");
                limited += 1;
            }
            Err(end) => break end,
        }
    };
    assert!(
        limited >= 1,
        "no rate-limited error arrived before the close"
    );
    assert_eq!(end, Ending::Closed(Some(1008)), "after {limited} errors");
}

#[tokio::test]
async fn flooding_is_rate_limited_then_disconnected() {
    let server = TestServer::start_with(|c| c.limits.rate_limit = 5).await;
    let mut a = server.peer("Ann", 0).await;
    let mut b = server.peer("Bob", 1).await;
    a.recv().await;
    // identify used one token of the 25-message burst.
    for _ in 0..40 {
        a.send(json!({"type":"hangup","data":{"target":b.id}}))
            .await;
    }
    let mut delivered = 0;
    while let Ok(m) = b.next_within(SHORT).await {
        assert_eq!(m["type"], "hangup");
        delivered += 1;
    }
    assert!((24..=26).contains(&delivered), "delivered {delivered}");
    let mut limited = 0;
    while let Ok(m) = a.next_within(SHORT).await {
        assert_eq!(m["data"]["code"], "rate-limited", "{m}");
        limited += 1;
    }
    assert!(limited >= 10, "only {limited} rate-limited errors");
    for _ in 0..200 {
        if a.ws
            .send(Message::text(
                json!({"type":"hangup","data":{"target":b.id}}).to_string(),
            ))
            .await
            .is_err()
        {
            break;
        }
    }
    assert_eq!(a.closed().await, Ending::Closed(Some(1008)));
    // Tokens that refilled meanwhile let a few more hangups through first.
    loop {
        let m = b.recv().await;
        if m["type"] == "peer" {
            assert_eq!(m["data"]["remove"], true, "{m}");
            break;
        }
        assert_eq!(m["type"], "hangup");
    }
}

#[tokio::test]
async fn max_peers_refuses_with_503_and_frees_slots() {
    let server = TestServer::start_with(|c| c.limits.max_peers = 2).await;
    // One address may hold only half of MAX_PEERS, so two hosts fill it.
    let a = server.client().await;
    let second: std::net::IpAddr = "127.0.0.2".parse().unwrap();
    let _b = server.client_from(second, "/rtc").await.unwrap();
    let third: std::net::IpAddr = "127.0.0.3".parse().unwrap();
    assert_eq!(status_of(server.client_from(third, "/rtc").await), 503);
    drop(a);
    let mut admitted = false;
    for _ in 0..50 {
        if let Ok(mut ws) = server.ws("/rtc", &[]).await {
            assert_eq!(ws.recv().await["type"], "ready");
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(admitted, "a slot freed by a leaving peer was not reused");
}

#[tokio::test]
async fn a_client_that_stops_reading_is_disconnected_and_announced() {
    // Default queue limits: 4096 frames would take 128 MiB of these messages,
    // so being cut off well before that shows the byte budget at work.
    let server = TestServer::start_with(|c| c.limits.rate_limit = 0).await;
    let mut watcher = server.peer("Watcher", 0).await;
    let mut sender = server.peer("Sender", 1).await;
    watcher.recv().await;
    let sleeper = server.peer("Sleeper", 2).await;
    watcher.recv().await;
    sender.recv().await;
    let sleeper_id = sleeper.id.clone();
    let sdp = "z".repeat(32 * 1024);
    let mut removed = false;
    // Bounded: at most 1500 x 32 KiB towards a client that reads nothing.
    'outer: for round in 0..30 {
        for _ in 0..50 {
            sender.send(offer_to(&sleeper_id, &sdp)).await;
        }
        while let Ok(m) = watcher
            .next_within(Duration::from_millis(if round < 29 { 10 } else { 2000 }))
            .await
        {
            if m["data"]["id"] == sleeper_id.as_str() && m["data"]["remove"] == true {
                removed = true;
                break 'outer;
            }
        }
    }
    assert!(removed, "the non-reading client was never disconnected");
    // The hub no longer relays to it, and everyone else is unaffected.
    sender.send(offer_to(&sleeper_id, "v=0")).await;
    loop {
        let m = sender.recv().await;
        if m["type"] == "error" {
            assert_eq!(m["data"]["code"], "unknown-target");
            break;
        }
    }
    sender.send(offer_to(&watcher.id, "v=0 hi")).await;
    assert_eq!(watcher.recv().await["data"]["sdp"], "v=0 hi");
    drop(sleeper);
}

// 8. Keepalive.

#[tokio::test]
async fn keepalive_drops_silent_clients_and_keeps_live_ones() {
    let server = TestServer::start_with(|c| {
        c.limits.ping_interval = Duration::from_millis(100);
        c.limits.idle_timeout = Duration::from_millis(400);
    })
    .await;
    let mut live = server.peer("Live", 0).await;
    let silent = server.peer("Silent", 1).await;
    assert_eq!(live.recv().await["data"]["name"], "Silent");
    // `live` keeps reading, so its client answers pings; `silent` reads
    // nothing, so it never sends a pong.
    let gone = live.recv().await;
    assert_eq!(
        (
            gone["data"]["name"].as_str(),
            gone["data"]["remove"].as_bool()
        ),
        (Some("Silent"), Some(true))
    );
    live.quiet(Duration::from_millis(1200)).await;
    let mut other = server.peer("Other", 1).await;
    assert_eq!(live.recv().await["data"]["name"], "Other");
    other.send(offer_to(&live.id, "v=0 alive")).await;
    assert_eq!(live.recv().await["data"]["sdp"], "v=0 alive");
    drop(silent);
}

// 9. Shutdown.

#[tokio::test]
async fn shutdown_sends_going_away_to_every_socket() {
    let mut server = TestServer::start().await;
    let mut a = server.peer("Ann", 0).await;
    let mut lurker = server.client().await;
    let stop = tokio::spawn(async move {
        server.stop().await;
        server
    });
    assert_eq!(a.closed().await, Ending::Closed(Some(1001)));
    assert_eq!(lurker.closed().await, Ending::Closed(Some(1001)));
    stop.await.unwrap();
}
