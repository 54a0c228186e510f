//! Meetings through the media server, at the protocol level: who is in a
//! room's meeting and what each member's microphone and camera do, told to
//! the whole room; members' streams reach the other members and nobody
//! else; the active speaker worked out from the audio levels the members'
//! packets carry (RFC 6464).

mod common;
#[path = "common/webrtc_client.rs"]
mod webrtc_client;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::{TestServer, Ws};
use serde_json::{json, Value};
use str0m::media::Direction;
use webrtc_client::{publish_until, watch_until, Client, Watched};

const LOOPBACK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// The next `meeting` message, skipping peer announcements.
async fn meeting(ws: &mut Ws) -> Value {
    loop {
        let m = ws.recv().await;
        match m["type"].as_str() {
            Some("meeting") => return m["data"].clone(),
            Some("peer") => continue,
            _ => panic!("expected a meeting message, got {m}"),
        }
    }
}

/// The next `meeting` message that satisfies `ok`, skipping others.
async fn meeting_where(ws: &mut Ws, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "no meeting message where {what}");
        let m = ws.recv().await;
        if m["type"] == "meeting" && ok(&m["data"]) {
            return m["data"].clone();
        }
    }
}

fn ids(data: &Value) -> Vec<String> {
    data["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

fn member<'a>(data: &'a Value, id: &str) -> &'a Value {
    data["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("{id} is not in {data}"))
}

async fn join(ws: &mut Ws, extra: Value) {
    let mut data = json!({"action": "join"});
    data.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    ws.send(json!({"type":"meeting","data":data})).await;
}

#[tokio::test]
async fn the_room_sees_who_is_in_its_meeting_and_the_limit_holds() {
    let server = TestServer::start_with(|c| c.media.as_mut().unwrap().max_meeting = 2).await;
    let mut alice = server.peer_at("/rtc?room=team", "Alice", 0).await;
    let mut bob = server.peer_at("/rtc?room=team", "Bob", 1).await;
    let mut carol = server.peer_at("/rtc?room=team", "Carol", 2).await;
    let mut dave = server.peer_at("/rtc?room=elsewhere", "Dave", 0).await;
    let _ = alice.recv().await; // Bob
    let _ = alice.recv().await; // Carol
    let _ = bob.recv().await; // Carol

    join(&mut alice, json!({})).await;
    let a = alice.id.clone();
    for ws in [&mut alice, &mut bob, &mut carol] {
        let m = meeting(ws).await;
        assert_eq!(ids(&m), vec![a.clone()]);
        assert_eq!(m["max"], 2);
        let a = member(&m, &a);
        assert_eq!(
            (&a["muted"], &a["camera"], &a["publishing"]),
            (&json!(false), &json!(true), &json!(false))
        );
    }
    join(&mut bob, json!({"muted": true})).await;
    let m = meeting(&mut carol).await;
    assert_eq!(ids(&m), vec![alice.id.clone(), bob.id.clone()]);
    assert_eq!(member(&m, &bob.id)["muted"], true);
    // Full: Carol is told why, and nobody else hears anything.
    join(&mut carol, json!({})).await;
    let refused = carol.recv().await;
    assert_eq!(refused["data"]["code"], "meeting-full", "{refused}");
    let message = refused["data"]["message"].as_str().unwrap();
    assert!(
        message.contains("full") && message.contains("MAX_MEETING"),
        "{message}"
    );

    // Bob turns his camera off: everyone sees it.
    bob.send(json!({"type":"meeting","data":{"action":"update","camera":false}}))
        .await;
    let _ = meeting(&mut alice).await; // Bob joined
    let m = meeting(&mut alice).await;
    assert_eq!(member(&m, &bob.id)["camera"], false);
    assert_eq!(member(&m, &bob.id)["muted"], true, "unchanged fields stay");
    // So is telling tile sizes; a member's are taken without a word.
    let mut view = json!({"type":"meeting","data":{"action":"view","tiles":{}}});
    view["data"]["tiles"][a.as_str()] = json!(300);
    carol.send(view.clone()).await;
    let _ = meeting(&mut carol).await; // Bob's camera
    let err = carol.recv().await;
    assert_eq!(err["data"]["code"], "not-in-meeting", "{err}");
    bob.send(view).await;
    // An update from someone not in the meeting is an error.
    carol
        .send(json!({"type":"meeting","data":{"action":"update","muted":true}}))
        .await;
    let err = carol.recv().await;
    assert_eq!(err["data"]["code"], "not-in-meeting", "{err}");

    // A device that arrives later is told at once, after the peers.
    let mut erin = server.peer_at("/rtc?room=team", "Erin", 3).await;
    let m = meeting(&mut erin).await;
    assert_eq!(ids(&m), vec![alice.id.clone(), bob.id.clone()]);

    // Another room hears nothing of it.
    dave.quiet(Duration::from_millis(300)).await;

    // Bob leaves; then Alice's socket goes: the meeting is over.
    bob.send(json!({"type":"meeting","data":{"action":"leave"}}))
        .await;
    let m = meeting(&mut erin).await;
    assert_eq!(ids(&m), vec![alice.id.clone()]);
    drop(alice);
    let m = meeting_where(&mut erin, "nobody is in", |m| ids(m).is_empty()).await;
    assert_eq!(m["speaker"], Value::Null);
    // And Carol may now start one.
    join(&mut carol, json!({})).await;
    let m = meeting(&mut erin).await;
    assert_eq!(ids(&m), vec![carol.id.clone()]);
}

/// Joins, publishes with a str0m client, and waits for the room to see it.
async fn join_and_publish(ws: &mut Ws, level: i8) -> Client {
    join(ws, json!({})).await;
    let (mut client, offer) = Client::new(LOOPBACK, Direction::SendOnly).await;
    client.audio_level = Some(level);
    ws.send(json!({"type":"publish","data":{"sdp":offer,"meeting":true}}))
        .await;
    loop {
        let m = ws.recv().await;
        if m["type"] == "published" {
            assert_eq!(m["data"]["meeting"], true, "{m}");
            client.accept(m["data"]["sdp"].as_str().unwrap());
            return client;
        }
        assert!(
            matches!(m["type"].as_str(), Some("meeting" | "peer")),
            "{m}"
        );
    }
}

/// Subscribes `ws` to `target`'s stream; the answered client.
async fn subscribe(ws: &mut Ws, target: &str) -> Client {
    let (mut client, offer) = Client::new(LOOPBACK, Direction::RecvOnly).await;
    ws.send(json!({"type":"subscribe","data":{"target":target,"sdp":offer}}))
        .await;
    loop {
        let m = ws.recv().await;
        if m["type"] == "subscribed" {
            assert_eq!(m["data"]["source"], target, "{m}");
            client.accept(m["data"]["sdp"].as_str().unwrap());
            return client;
        }
        assert_eq!(m["type"], "meeting", "{m}");
    }
}

#[tokio::test]
async fn members_get_each_others_streams_and_the_loud_one_is_the_speaker() {
    let server = TestServer::start().await;
    let mut alice = server.peer_at("/rtc?room=team", "Alice", 0).await;
    let mut bob = server.peer_at("/rtc?room=team", "Bob", 1).await;
    let mut carol = server.peer_at("/rtc?room=team", "Carol", 2).await;
    let mut eve = server.peer_at("/rtc?room=team", "Eve", 3).await;
    let (a, b, c) = (alice.id.clone(), bob.id.clone(), carol.id.clone());

    // Alice talks (−20 dBov), Carol's room is quiet (−70), Bob is silent.
    let mut pa = join_and_publish(&mut alice, -20).await;
    let mut pb = join_and_publish(&mut bob, -127).await;
    let mut pc = join_and_publish(&mut carol, -70).await;
    let m = meeting_where(&mut eve, "all three publish", |m| {
        m["members"].as_array().unwrap().len() == 3
            && m["members"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x["publishing"] == true)
    })
    .await;
    assert_eq!(ids(&m), vec![a.clone(), b.clone(), c.clone()]);

    // A member's stream is no live stream: WHEP finds nothing there.
    let (_, offer) = Client::new(LOOPBACK, Direction::RecvOnly).await;
    for path in ["/whep/team".to_string(), format!("/whep/team/{a}")] {
        let reply = server
            .request_body(
                "POST",
                &path,
                &[("content-type", "application/sdp")],
                offer.clone(),
            )
            .await;
        assert_eq!(reply.status, 404, "{path}: {}", reply.text());
    }
    // Eve, in the room but not in the meeting, cannot subscribe.
    eve.send(json!({"type":"subscribe","data":{"target":a,"sdp":offer}}))
        .await;
    let err = loop {
        let m = eve.recv().await;
        if m["type"] == "error" {
            break m;
        }
    };
    assert_eq!(err["data"]["code"], "not-in-meeting", "{err}");

    // Bob receives Alice and Carol, each their own frames.
    let mut from_a = subscribe(&mut bob, &a).await;
    let mut from_c = subscribe(&mut bob, &c).await;
    let until = Instant::now() + Duration::from_secs(4);
    let publishers = [(&mut pa, 1u8), (&mut pb, 2), (&mut pc, 3)];
    let sending = async {
        let mut tasks = Vec::new();
        for (client, tag) in publishers {
            tasks.push(publish_until(client, until, 800, tag));
        }
        futures_util::future::join_all(tasks).await
    };
    let watching = async {
        futures_util::future::join(
            watch_until(&mut from_a, until),
            watch_until(&mut from_c, until),
        )
        .await
    };
    let speaker =
        async { meeting_where(&mut eve, "Alice speaks", |m| m["speaker"] == a.as_str()).await };
    let (_, (wa, wc), _) = tokio::join!(sending, watching, speaker);
    assert_received(&wa, 1, "Alice's stream");
    assert_received(&wc, 3, "Carol's stream");

    // Now Bob talks and Alice is quiet: the highlight moves to him.
    pa.audio_level = Some(-127);
    pb.audio_level = Some(-25);
    let until = Instant::now() + Duration::from_secs(4);
    let sending = async {
        futures_util::future::join3(
            publish_until(&mut pa, until, 800, 1),
            publish_until(&mut pb, until, 800, 2),
            publish_until(&mut pc, until, 800, 3),
        )
        .await
    };
    let speaker =
        async { meeting_where(&mut eve, "Bob speaks", |m| m["speaker"] == b.as_str()).await };
    let watching = async {
        futures_util::future::join(
            watch_until(&mut from_a, until),
            watch_until(&mut from_c, until),
        )
        .await
    };
    tokio::join!(sending, speaker, watching);

    // Carol leaves: Bob is told her stream ended, the room that she left.
    carol
        .send(json!({"type":"meeting","data":{"action":"leave"}}))
        .await;
    let ended = loop {
        let m = bob.recv().await;
        if m["type"] == "unsubscribed" {
            break m;
        }
    };
    assert_eq!(ended["data"]["source"], c.as_str(), "{ended}");
    let m = meeting_where(&mut eve, "Carol left", |m| ids(m).len() == 2).await;
    assert_eq!(ids(&m), vec![a.clone(), b.clone()]);
    // Subscribing to her now is refused with a reason.
    let (_, offer) = Client::new(LOOPBACK, Direction::RecvOnly).await;
    bob.send(json!({"type":"subscribe","data":{"target":c,"sdp":offer}}))
        .await;
    let err = loop {
        let m = bob.recv().await;
        if m["type"] == "error" {
            break m;
        }
    };
    assert_eq!(err["data"]["code"], "not-in-meeting", "{err}");
}

#[tokio::test]
async fn a_member_not_yet_publishing_is_answered_with_a_reason() {
    let server = TestServer::start().await;
    let mut alice = server.peer_at("/rtc?room=team", "Alice", 0).await;
    let mut bob = server.peer_at("/rtc?room=team", "Bob", 1).await;
    join(&mut alice, json!({})).await;
    join(&mut bob, json!({})).await;
    // The two joins come over two sockets, in either order: wait until
    // Bob has been told both are in.
    meeting_where(&mut bob, "both are in", |m| ids(m).len() == 2).await;
    let (_, offer) = Client::new(LOOPBACK, Direction::RecvOnly).await;
    let a = alice.id.clone();
    bob.send(json!({"type":"subscribe","data":{"target":a,"sdp":offer}}))
        .await;
    let reply = loop {
        let m = bob.recv().await;
        if m["type"] != "meeting" {
            break m;
        }
    };
    assert_eq!(
        reply,
        json!({"type":"unsubscribed","data":{"source":a,"reason":"not-publishing"}})
    );
    // Publishing to a meeting one is not in is refused.
    let mut carol = server.peer_at("/rtc?room=team", "Carol", 2).await;
    let (_, offer) = Client::new(LOOPBACK, Direction::SendOnly).await;
    carol
        .send(json!({"type":"publish","data":{"sdp":offer,"meeting":true}}))
        .await;
    let err = loop {
        let m = carol.recv().await;
        if m["type"] == "error" {
            break m;
        }
    };
    assert_eq!(err["data"]["code"], "not-in-meeting", "{err}");
}

fn assert_received(w: &Watched, tag: u8, what: &str) {
    assert!(w.connected_at.is_some(), "{what}: never connected");
    assert!(
        w.video_frames > 20,
        "{what}: {} video frames",
        w.video_frames
    );
    assert!(
        w.audio_frames > 20,
        "{what}: {} audio frames",
        w.audio_frames
    );
    assert_eq!(
        w.tags.iter().copied().collect::<Vec<_>>(),
        vec![tag],
        "{what}: frames from someone else"
    );
}

/// The next message of `kind`, skipping others.
async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "no {kind} message");
        let m = ws.recv().await;
        if m["type"] == kind {
            return m;
        }
    }
}

/// Publishes one side of a call through the appliance.
async fn publish_call(ws: &mut Ws, partner: &str) -> Client {
    let (mut client, offer) = Client::new(LOOPBACK, Direction::SendOnly).await;
    ws.send(json!({"type":"publish","data":{"sdp":offer,"call":partner}}))
        .await;
    let published = next_of(ws, "published").await;
    assert_eq!(published["data"]["call"], partner, "{published}");
    client.accept(published["data"]["sdp"].as_str().unwrap());
    client
}

#[tokio::test]
async fn a_call_is_carried_through_the_appliance_for_its_two_sides_only() {
    let server = TestServer::start().await;
    let mut alice = server.peer_at("/rtc?room=home", "Alice", 0).await;
    let mut bob = server.peer_at("/rtc?room=home", "Bob", 1).await;
    let mut eve = server.peer_at("/rtc?room=home", "Eve", 2).await;
    let (a, b) = (alice.id.clone(), bob.id.clone());

    // Publishing a call's stream needs call-relay first.
    let (_, offer) = Client::new(LOOPBACK, Direction::SendOnly).await;
    alice
        .send(json!({"type":"publish","data":{"sdp":offer,"call":b}}))
        .await;
    let err = next_of(&mut alice, "error").await;
    assert_eq!(err["data"]["ref"], "publish", "{err}");

    alice
        .send(json!({"type":"call-relay","data":{"target":b}}))
        .await;
    let mut pa = publish_call(&mut alice, &b).await;
    // Bob has not asked: he may not receive Alice yet.
    let (_, offer) = Client::new(LOOPBACK, Direction::RecvOnly).await;
    bob.send(json!({"type":"subscribe","data":{"target":a,"sdp":offer}}))
        .await;
    let err = next_of(&mut bob, "error").await;
    assert_eq!(err["data"]["code"], "not-in-meeting", "{err}");
    // He asks: he is told Alice's stream is there; he publishes, she is told.
    bob.send(json!({"type":"call-relay","data":{"target":a}}))
        .await;
    let told = next_of(&mut bob, "call-relay").await;
    assert_eq!(told["data"], json!({"source":a,"publishing":true}));
    let mut pb = publish_call(&mut bob, &a).await;
    let told = next_of(&mut alice, "call-relay").await;
    assert_eq!(told["data"], json!({"source":b,"publishing":true}));

    let mut from_a = subscribe(&mut bob, &a).await;
    let mut from_b = subscribe(&mut alice, &b).await;
    let until = Instant::now() + Duration::from_secs(3);
    let (_, _, wa, wb) = tokio::join!(
        publish_until(&mut pa, until, 800, 1),
        publish_until(&mut pb, until, 800, 2),
        watch_until(&mut from_a, until),
        watch_until(&mut from_b, until),
    );
    assert_received(&wa, 1, "Bob receiving Alice");
    assert_received(&wb, 2, "Alice receiving Bob");

    // Eve is no side of it; nor is it a meeting anyone is told about.
    let (_, offer) = Client::new(LOOPBACK, Direction::RecvOnly).await;
    eve.send(json!({"type":"subscribe","data":{"target":a,"sdp":offer}}))
        .await;
    let err = next_of(&mut eve, "error").await;
    assert_eq!(err["data"]["code"], "not-in-meeting", "{err}");
    eve.quiet(Duration::from_millis(300)).await;

    // Alice hangs up: Bob's stream from her ends.
    alice
        .send(json!({"type":"call-relay","data":{"target":null}}))
        .await;
    let ended = next_of(&mut bob, "unsubscribed").await;
    assert_eq!(ended["data"]["source"], a.as_str(), "{ended}");
}

#[tokio::test]
async fn a_simulcast_member_reaches_each_subscriber_as_one_layer() {
    let server = TestServer::start().await;
    let mut alice = server.peer_at("/rtc?room=team", "Alice", 0).await;
    let mut bob = server.peer_at("/rtc?room=team", "Bob", 1).await;
    let a = alice.id.clone();
    join(&mut alice, json!({})).await;
    let (mut pa, offer) =
        Client::with_layers(LOOPBACK, Direction::SendOnly, &["q", "h", "f"]).await;
    alice
        .send(json!({"type":"publish","data":{"sdp":offer,"meeting":true}}))
        .await;
    let published = next_of(&mut alice, "published").await;
    let answer = published["data"]["sdp"].as_str().unwrap();
    assert!(answer.contains("a=simulcast:recv q;h;f"), "{answer}");
    pa.accept(answer);
    join(&mut bob, json!({})).await;
    let _ = meeting_where(&mut bob, "Alice publishes", |m| {
        member(m, &a)["publishing"] == true
    })
    .await;
    let mut from_a = subscribe(&mut bob, &a).await;
    let until = Instant::now() + Duration::from_secs(4);
    let (_, w) = tokio::join!(
        publish_until(&mut pa, until, 1600, 10),
        watch_until(&mut from_a, until)
    );
    // Layers carry tags 10 (q), 11 (h) and 12 (f): a clear link ends on
    // the top one, and layers are never mixed (a subscriber that connects
    // before the publisher's layers are known may start on the first and
    // switch once).
    assert!(w.video_frames > 20, "{} video frames", w.video_frames);
    assert_eq!(w.last_tag, Some(12), "{w:?}");
    assert!(w.tag_changes <= 1, "layers mixed: {w:?}");
}
