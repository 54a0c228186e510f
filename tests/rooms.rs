//! Rooms and going live, as docs/protocol.md states them: a peer in one room
//! never learns of, nor reaches, a peer in another; room names are checked;
//! the live flag rides on `peer` announcements and `watch` is relayed.

mod common;

use std::time::Duration;

use common::{TestServer, Ws};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Error as WsError;

const SHORT: Duration = Duration::from_millis(300);

fn offer_to(target: &str) -> Value {
    json!({"type":"offer","data":{"type":"offer","sdp":"v=0","target":target}})
}

async fn expect_peer(ws: &mut Ws, name: &str) -> Value {
    let m = ws.recv().await;
    assert_eq!(m["type"], "peer", "{m}");
    assert_eq!(m["data"]["name"], name, "{m}");
    m
}

async fn expect_unknown_target(ws: &mut Ws) {
    let m = ws.recv().await;
    assert_eq!(m["type"], "error", "{m}");
    assert_eq!(m["data"]["code"], "unknown-target", "{m}");
}

#[tokio::test]
async fn rooms_are_isolated() {
    let server = TestServer::start().await;
    let mut lobby1 = server.peer("Lee", 0).await;
    let mut lobby2 = server.peer("Lou", 1).await;
    expect_peer(&mut lobby1, "Lou").await;

    let mut a1 = server.peer_at("/rtc?room=math-101", "Ann", 0).await;
    let mut a2 = server.peer_at("/rtc?room=math-101", "Abe", 1).await;
    expect_peer(&mut a1, "Abe").await;
    let mut b1 = server.peer_at("/rtc?room=Math-101", "Bea", 0).await;

    // Nobody outside room math-101 heard of its members, and the reverse.
    lobby1.quiet(SHORT).await;
    lobby2.quiet(SHORT).await;
    b1.quiet(SHORT).await;
    a1.quiet(SHORT).await;

    // Relays do not cross: every direction is an unknown target, and the
    // would-be recipient hears nothing.
    for to in [b1.id.clone(), lobby1.id.clone()] {
        a1.send(offer_to(&to)).await;
        expect_unknown_target(&mut a1).await;
    }
    lobby1.send(offer_to(&a2.id)).await;
    expect_unknown_target(&mut lobby1).await;
    b1.send(offer_to(&a1.id)).await;
    expect_unknown_target(&mut b1).await;
    for ws in [&mut a2, &mut b1, &mut lobby2] {
        ws.quiet(SHORT).await;
    }

    // Inside the room, relays work.
    a1.send(offer_to(&a2.id)).await;
    let m = a2.recv().await;
    assert_eq!(
        (m["type"].as_str(), m["data"]["source"].as_str()),
        (Some("offer"), Some(a1.id.as_str()))
    );

    // A rename and a departure stay inside the room.
    a2.identify("Abel").await;
    expect_peer(&mut a1, "Abel").await;
    drop(a2);
    let gone = a1.recv().await;
    assert_eq!(gone["data"]["remove"], true, "{gone}");
    for ws in [&mut lobby1, &mut lobby2, &mut b1] {
        ws.quiet(SHORT).await;
    }

    // A lobby newcomer sees only the lobby.
    let mut late = server.peer("Late", 2).await;
    late.quiet(SHORT).await;
}

#[tokio::test]
async fn room_names_are_checked() {
    let server = TestServer::start().await;
    let long = "r".repeat(64);
    let too_long = "r".repeat(65);
    for (query, ok) in [
        ("room=a", true),
        ("room=Team_7-b", true),
        (&format!("room={long}") as &str, true),
        ("room=%61bc", true), // percent-encoded "abc"
        ("room=", false),
        (&format!("room={too_long}"), false),
        ("room=a%20b", false),
        ("room=a/b", false),
        ("room=%2e%2e", false),
        ("room=caf%C3%A9", false),
        ("room=%ff", false),
    ] {
        let path = format!("/rtc?{query}");
        match server.ws(&path, &[]).await {
            Ok(_) => assert!(ok, "{path} was accepted"),
            Err(WsError::Http(res)) => {
                assert!(!ok, "{path} was refused");
                assert_eq!(res.status(), 400, "{path}");
                let body = String::from_utf8_lossy(res.body().as_deref().unwrap_or_default());
                assert!(body.contains("1 to 64 characters"), "{path}: {body}");
            }
            Err(other) => panic!("{path}: {other}"),
        }
    }

    // The page URL: a room's page is the app; a bad one says why.
    let home = server.get("/").await;
    for path in ["/r/team-7", "/r/team-7/"] {
        let page = server.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        assert_eq!(page.body, home.body, "{path} serves the app");
    }
    for path in ["/r/", "/r/a%20b", "/r/a/b", &format!("/r/{too_long}")] {
        let page = server.get(path).await;
        assert_eq!(page.status, 400, "{path}");
        assert!(
            page.text().contains("1 to 64 characters"),
            "{path}: {}",
            page.text()
        );
    }
}

#[tokio::test]
async fn live_flag_and_watch() {
    let server = TestServer::start().await;
    let mut star = server.peer_at("/rtc?room=stage", "Star", 0).await;
    let mut fan = server.peer_at("/rtc?room=stage", "Fan", 1).await;
    expect_peer(&mut star, "Fan").await;

    // Going live is an identify with live: true; everyone else in the room
    // gets the announcement with the flag, the sender does not.
    let go_live = json!({"type":"identify","data":{"id":star.id,"name":"Star","live":true}});
    star.send(go_live.clone()).await;
    let m = expect_peer(&mut fan, "Star").await;
    assert_eq!(m["data"]["live"], true, "{m}");
    star.send(go_live).await; // the same state again: nothing to announce
    fan.quiet(SHORT).await;
    star.quiet(SHORT).await;

    // A newcomer learns the current state, flag included.
    let mut late = server.client_at("/rtc?room=stage").await;
    late.identify("Late").await;
    let mut seen = [late.recv().await, late.recv().await];
    seen.sort_by_key(|m| m["data"]["name"].as_str().unwrap_or("").to_string());
    assert_eq!(seen[0]["data"]["name"], "Fan");
    assert!(seen[0]["data"].get("live").is_none(), "{}", seen[0]);
    assert_eq!(seen[1]["data"]["live"], true, "{}", seen[1]);
    expect_peer(&mut star, "Late").await;
    expect_peer(&mut fan, "Late").await;

    // watch is relayed with the sender stamped; it needs an sdp.
    fan.send(
        json!({"type":"watch","data":{"target":star.id,"sdp":"v=0 recvonly","source":"forged"}}),
    )
    .await;
    let w = star.recv().await;
    assert_eq!(w["type"], "watch");
    assert_eq!(w["data"]["source"], fan.id.as_str());
    assert_eq!(w["data"]["sdp"], "v=0 recvonly");
    fan.send(json!({"type":"watch","data":{"target":star.id}}))
        .await;
    let e = fan.recv().await;
    assert_eq!(e["data"]["code"], "bad-message", "{e}");

    // The stream's own fields pass through untouched.
    star.send(json!({"type":"accept","data":{"target":fan.id,"sdp":"v=0","stream":"broadcaster"}}))
        .await;
    let a = fan.recv().await;
    assert_eq!(a["data"]["stream"], "broadcaster", "{a}");

    // Going off air is announced without the flag.
    star.send(json!({"type":"identify","data":{"id":star.id,"name":"Star","live":false}}))
        .await;
    let off = expect_peer(&mut fan, "Star").await;
    assert!(off["data"].get("live").is_none(), "{off}");

    // A watch cannot reach a live peer in another room.
    let mut outsider = server.peer("Out", 0).await;
    outsider
        .send(json!({"type":"watch","data":{"target":star.id,"sdp":"v=0"}}))
        .await;
    expect_unknown_target(&mut outsider).await;
    star.quiet(SHORT).await;
}
