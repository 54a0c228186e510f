//! The media server, in-process over loopback: WHIP and WHEP over HTTPS,
//! publishing and watching over `/rtc`, and what every viewer receives, with
//! str0m clients standing in for OBS and browsers.

mod common;
#[path = "common/webrtc_client.rs"]
mod webrtc_client;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::{Reply, TestServer};
use serde_json::json;
use str0m::media::Direction;
use webrtc_client::{publish_until, watch_until, Client, Watched, FPS};

const LOOPBACK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
const SDP: (&str, &str) = ("content-type", "application/sdp");

async fn post_offer(server: &TestServer, path: &str, offer: &str, auth: Option<&str>) -> Reply {
    let bearer = auth.map(|k| format!("Bearer {k}"));
    let mut headers = vec![SDP];
    if let Some(b) = &bearer {
        headers.push(("authorization", b.as_str()));
    }
    server
        .request_body("POST", path, &headers, offer.to_string())
        .await
}

/// A WHIP publisher whose answer has been accepted.
async fn whip(server: &TestServer, room: &str, name: &str) -> (Client, String) {
    let (mut client, offer) = Client::new(LOOPBACK, Direction::SendOnly).await;
    let reply = post_offer(server, &format!("/whip/{room}?name={name}"), &offer, None).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(reply.header("content-type"), "application/sdp");
    let location = reply.header("location").to_string();
    assert!(
        location.starts_with(&format!("/whip/{room}/")),
        "{location}"
    );
    client.accept(&reply.text());
    (client, location)
}

async fn whep(server: &TestServer, path: &str) -> (Client, String) {
    let (mut client, offer) = Client::new(LOOPBACK, Direction::RecvOnly).await;
    let reply = post_offer(server, path, &offer, None).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let location = reply.header("location").to_string();
    assert!(location.starts_with("/whep/"), "{location}");
    client.accept(&reply.text());
    (client, location)
}

/// Publishes from `client` in a task until `until`.
fn spawn_publisher(
    mut client: Client,
    until: Instant,
    tag: u8,
) -> tokio::task::JoinHandle<(Client, u64)> {
    tokio::spawn(async move {
        let requests = publish_until(&mut client, until, 1000, tag).await;
        (client, requests)
    })
}

fn spawn_viewer(mut client: Client, until: Instant) -> tokio::task::JoinHandle<Watched> {
    tokio::spawn(async move { watch_until(&mut client, until).await })
}

fn assert_watched(w: &Watched, tag: u8, what: &str) {
    assert!(w.connected_at.is_some(), "{what} never connected: {w:?}");
    assert!(w.video_frames >= 10, "{what} got too little video: {w:?}");
    assert!(w.audio_frames >= 10, "{what} got too little audio: {w:?}");
    assert!(
        w.first_video_was_keyframe,
        "{what}'s first video frame must be a keyframe: {w:?}"
    );
    assert_eq!(
        w.tags.iter().copied().collect::<Vec<_>>(),
        vec![tag],
        "{what} saw someone else's frames"
    );
}

#[tokio::test]
async fn a_whip_stream_reaches_every_whep_viewer_and_ends_with_delete() {
    let server = TestServer::start().await;
    let mut lobby_peer = server.peer_at("/rtc?room=studio", "Watcher", 0).await;
    let (publisher, location) = whip(&server, "studio", "Cam%201").await;

    // The stream is listed in its room as a live peer served by the appliance.
    let announced = lobby_peer.recv().await;
    assert_eq!(announced["type"], "peer");
    assert_eq!(announced["data"]["name"], "Cam 1");
    assert_eq!(announced["data"]["live"], true);
    assert_eq!(announced["data"]["via"], "appliance");
    assert_eq!(announced["data"]["kind"], "whip");
    let stream_id = announced["data"]["id"].as_str().unwrap().to_string();

    let until = Instant::now() + Duration::from_secs(4);
    let publishing = spawn_publisher(publisher, until, 7);
    let mut viewers = Vec::new();
    for path in [
        "/whep/studio".to_string(),
        format!("/whep/studio/{stream_id}"),
        "/whep/studio".into(),
    ] {
        let (client, loc) = whep(&server, &path).await;
        assert!(
            loc.starts_with(&format!("/whep/studio/{stream_id}/")),
            "{loc}"
        );
        viewers.push(spawn_viewer(client, until));
    }
    // A late viewer, joining between the publisher's regular keyframes,
    // gets one within a second all the same.
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let (late, _) = whep(&server, "/whep/studio").await;
    let late = spawn_viewer(late, until);
    for (i, v) in viewers.into_iter().enumerate() {
        assert_watched(&v.await.unwrap(), 7, &format!("viewer {i}"));
    }
    let late = late.await.unwrap();
    assert!(late.video_frames > 0, "{late:?}");
    let wait = late.first_video_at.unwrap() - late.connected_at.unwrap();
    assert!(
        wait < Duration::from_secs(1),
        "the late viewer waited {wait:?} for a keyframe"
    );
    assert!(late.first_video_was_keyframe);
    let (_, requests) = publishing.await.unwrap();
    assert!(
        requests >= 1,
        "the server never asked the publisher for a keyframe"
    );

    // DELETE ends the stream: it leaves the room, and WHEP finds nothing.
    let reply = server.request("DELETE", &location, &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let gone = lobby_peer.recv().await;
    assert_eq!(gone["data"]["remove"], true, "{gone}");
    let (_, offer) = Client::new(LOOPBACK, Direction::RecvOnly).await;
    assert_eq!(
        post_offer(&server, "/whep/studio", &offer, None)
            .await
            .status,
        404
    );
    assert_eq!(server.request("DELETE", &location, &[]).await.status, 404);
}

#[tokio::test]
async fn rooms_keep_their_media_apart() {
    let server = TestServer::start().await;
    let (a, _) = whip(&server, "a", "A").await;
    let (b, _) = whip(&server, "b", "B").await;
    let until = Instant::now() + Duration::from_secs(3);
    let pa = spawn_publisher(a, until, 0xa);
    let pb = spawn_publisher(b, until, 0xb);
    let (va, _) = whep(&server, "/whep/a").await;
    let (vb, _) = whep(&server, "/whep/b").await;
    let (va, vb) = (spawn_viewer(va, until), spawn_viewer(vb, until));
    assert_watched(&va.await.unwrap(), 0xa, "room a's viewer");
    assert_watched(&vb.await.unwrap(), 0xb, "room b's viewer");
    let _ = (pa.await, pb.await);
    let (_, offer) = Client::new(LOOPBACK, Direction::RecvOnly).await;
    assert_eq!(
        post_offer(&server, "/whep/c", &offer, None).await.status,
        404,
        "room c has no broadcast"
    );
}

#[tokio::test]
async fn the_app_publishes_and_watches_over_signaling() {
    let server = TestServer::start().await;
    let mut alice = server.peer_at("/rtc?room=home", "Alice", 0).await;
    let mut bob = server.peer_at("/rtc?room=home", "Bob", 1).await;
    let _ = alice.recv().await; // Bob joined
    let mut other_room = server.peer_at("/rtc?room=elsewhere", "Eve", 0).await;

    let (mut publisher, offer) = Client::new(LOOPBACK, Direction::SendOnly).await;
    alice
        .send(json!({"type":"publish","data":{"sdp":offer}}))
        .await;
    let published = alice.recv().await;
    assert_eq!(published["type"], "published", "{published}");
    publisher.accept(published["data"]["sdp"].as_str().unwrap());
    let alice_id = alice.id.clone();
    alice
        .send(json!({"type":"identify","data":{"id":alice_id,"name":"Alice","live":true}}))
        .await;
    let live = bob.recv().await;
    assert_eq!(live["data"]["live"], true, "{live}");
    assert_eq!(live["data"]["via"], "appliance", "{live}");

    let until = Instant::now() + Duration::from_secs(3);
    let publishing = spawn_publisher(publisher, until, 3);
    // Bob watches exactly as he would watch a device: `watch` to Alice.
    let (mut viewer, offer) = Client::new(LOOPBACK, Direction::RecvOnly).await;
    bob.send(json!({"type":"watch","data":{"target":alice_id,"sdp":offer}}))
        .await;
    let accept = bob.recv().await;
    assert_eq!(accept["type"], "accept", "{accept}");
    assert_eq!(accept["data"]["source"], alice_id.as_str());
    assert_eq!(accept["data"]["stream"], "broadcaster");
    assert_eq!(accept["data"]["via"], "appliance");
    viewer.accept(accept["data"]["sdp"].as_str().unwrap());
    // Alice's page answers nothing: the appliance did, and tells her the
    // size of her audience.
    let audience = alice.recv().await;
    assert_eq!(audience, json!({"type":"audience","data":{"viewers":1}}));
    alice.quiet(Duration::from_millis(300)).await;
    let watched = spawn_viewer(viewer, until).await.unwrap();
    assert_watched(&watched, 3, "Bob");
    let _ = publishing.await;

    // Eve, in another room, cannot reach the broadcast.
    let (_, offer) = Client::new(LOOPBACK, Direction::RecvOnly).await;
    other_room
        .send(json!({"type":"watch","data":{"target":alice_id,"sdp":offer}}))
        .await;
    let refused = other_room.recv().await;
    assert_eq!(refused["data"]["code"], "unknown-target", "{refused}");

    // Alice going off air ends Bob's stream with a message.
    let (mut viewer, offer) = Client::new(LOOPBACK, Direction::RecvOnly).await;
    bob.send(json!({"type":"watch","data":{"target":alice_id,"sdp":offer}}))
        .await;
    let accept = bob.recv().await;
    viewer.accept(accept["data"]["sdp"].as_str().unwrap());
    alice
        .send(json!({"type":"identify","data":{"id":alice_id,"name":"Alice"}}))
        .await;
    let mut saw_hangup = false;
    for _ in 0..2 {
        let m = bob.recv().await;
        if m["type"] == "hangup" {
            assert_eq!(m["data"]["source"], alice_id.as_str());
            assert_eq!(m["data"]["stream"], "broadcaster");
            saw_hangup = true;
        } else {
            assert_eq!(m["type"], "peer", "{m}");
            assert_eq!(m["data"].get("live"), None, "{m}");
        }
    }
    assert!(saw_hangup, "Bob was not told the stream ended");
}

#[tokio::test]
async fn a_full_broadcast_refuses_the_next_viewer_from_the_app_or_whep() {
    let server = TestServer::start_with(|c| c.media.as_mut().unwrap().max_viewers = 1).await;
    let mut bob = server.peer_at("/rtc?room=r", "Bob", 0).await;
    let mut carol = server.peer_at("/rtc?room=r", "Carol", 1).await;
    let _ = bob.recv().await; // Carol joined
    let (_publisher, _) = whip(&server, "r", "S").await;
    let whip_id = bob.recv().await["data"]["id"].as_str().unwrap().to_string();
    let _ = carol.recv().await;

    let (_v1, location) = whep(&server, "/whep/r").await;
    let (_, offer) = Client::new(LOOPBACK, Direction::RecvOnly).await;
    let reply = post_offer(&server, "/whep/r", &offer, None).await;
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert!(reply.text().contains("MAX_VIEWERS"), "{}", reply.text());
    assert_eq!(reply.header("retry-after"), "10");
    let (_, offer) = Client::new(LOOPBACK, Direction::RecvOnly).await;
    bob.send(json!({"type":"watch","data":{"target":whip_id,"sdp":offer}}))
        .await;
    let full = bob.recv().await;
    assert_eq!(full["type"], "reject", "{full}");
    assert_eq!(full["data"]["reason"], "full", "{full}");
    assert_eq!(full["data"]["source"], whip_id.as_str());

    // The WHEP viewer leaves; an app viewer takes the place, and counts
    // against WHEP alike.
    assert_eq!(server.request("DELETE", &location, &[]).await.status, 200);
    let (_, offer) = Client::new(LOOPBACK, Direction::RecvOnly).await;
    carol
        .send(json!({"type":"watch","data":{"target":whip_id,"sdp":offer}}))
        .await;
    assert_eq!(carol.recv().await["type"], "accept");
    let (_, offer) = Client::new(LOOPBACK, Direction::RecvOnly).await;
    assert_eq!(
        post_offer(&server, "/whep/r", &offer, None).await.status,
        503
    );
}

#[tokio::test]
async fn bad_requests_get_a_status_and_a_sentence() {
    let server = TestServer::start().await;
    let (_, offer) = Client::new(LOOPBACK, Direction::SendOnly).await;
    let data_only = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=setup:actpass\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sctp-port:5000\r\n";
    let huge = "v=0\r\n".repeat(20_000);
    for (method, path, content_type, body, status, needle) in [
        (
            "POST",
            "/whip/r",
            "application/sdp",
            "hello",
            400,
            "not an SDP offer",
        ),
        (
            "POST",
            "/whip/r",
            "application/sdp",
            "",
            400,
            "not an SDP offer",
        ),
        (
            "POST",
            "/whip/r",
            "application/sdp",
            data_only,
            400,
            "no media",
        ),
        (
            "POST",
            "/whip/r",
            "application/sdp",
            huge.as_str(),
            413,
            "64 KiB",
        ),
        (
            "POST",
            "/whip/r",
            "text/plain",
            offer.as_str(),
            415,
            "application/sdp",
        ),
        (
            "POST",
            "/whip/r",
            "",
            offer.as_str(),
            415,
            "application/sdp",
        ),
        (
            "POST",
            "/whip/bad%20room",
            "application/sdp",
            offer.as_str(),
            400,
            "room name",
        ),
        (
            "POST",
            "/whip",
            "application/sdp",
            offer.as_str(),
            400,
            "needs a room",
        ),
        ("GET", "/whip/r", "", "", 405, "POST"),
        (
            "PATCH",
            "/whip/r/6f1c2b9e-0000-4000-8000-000000000000",
            "application/trickle-ice-sdpfrag",
            "a=x",
            405,
            "DELETE",
        ),
        (
            "DELETE",
            "/whip/r/6f1c2b9e-0000-4000-8000-000000000000",
            "",
            "",
            404,
            "No such session",
        ),
        (
            "POST",
            "/whep/r",
            "application/sdp",
            offer.as_str(),
            404,
            "Nobody is broadcasting",
        ),
        (
            "POST",
            "/whep/r/6f1c2b9e-0000-4000-8000-000000000000",
            "application/sdp",
            offer.as_str(),
            404,
            "Nobody",
        ),
        (
            "POST",
            "/whep/r/nope",
            "application/sdp",
            offer.as_str(),
            404,
            "Not found",
        ),
    ] {
        let mut headers = vec![];
        if !content_type.is_empty() {
            headers.push(("content-type", content_type));
        }
        let reply = server
            .request_body(method, path, &headers, body.to_string())
            .await;
        assert_eq!(
            reply.status.as_u16(),
            status,
            "{method} {path} {content_type}: {}",
            reply.text()
        );
        assert!(
            reply.text().contains(needle),
            "{method} {path}: {}",
            reply.text()
        );
    }
    // None of that disturbed a real publisher.
    let (_c, _) = whip(&server, "r", "Still").await;
}

#[tokio::test]
async fn whip_and_whep_need_the_bearer_key_when_one_is_set() {
    let tmp = tempfile::tempdir().unwrap();
    let mut settings = common::settings(tmp.path());
    settings.access_key = Some("sesame-1234".into());
    let server = TestServer::start_settings(settings, |_| {}).await;
    let (mut client, offer) = Client::new(LOOPBACK, Direction::SendOnly).await;
    for auth in [None, Some("wrong-key-9")] {
        let reply = post_offer(&server, "/whip/r", &offer, auth).await;
        assert_eq!(reply.status, 401, "{}", reply.text());
        assert_eq!(reply.header("www-authenticate"), "Bearer");
    }
    // The key is checked before anything else, even a bad path.
    assert_eq!(
        post_offer(&server, "/whip/bad%20room", "x", None)
            .await
            .status,
        401
    );
    let reply = post_offer(&server, "/whip/r", &offer, Some("sesame-1234")).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    client.accept(&reply.text());
    let location = reply.header("location").to_string();
    assert_eq!(server.request("DELETE", &location, &[]).await.status, 401);
    let auth = [("authorization", "Bearer sesame-1234")];
    assert_eq!(server.request("DELETE", &location, &auth).await.status, 200);
}

#[tokio::test]
async fn media_off_answers_503_and_the_app_is_told() {
    let server = TestServer::start_with(|c| c.media = None).await;
    let (_, offer) = Client::new(LOOPBACK, Direction::SendOnly).await;
    for path in ["/whip/r", "/whep/r"] {
        let reply = post_offer(&server, path, &offer, None).await;
        assert_eq!(reply.status, 503, "{}", reply.text());
        assert!(reply.text().contains("MEDIA=off"), "{}", reply.text());
    }
    let mut ws = server.ws("/rtc", &[]).await.unwrap();
    let ready = ws.recv().await;
    assert_eq!(ready["type"], "ready");
    assert_eq!(
        ready.get("media"),
        None,
        "the page must not try to publish: {ready}"
    );
    let on = TestServer::start().await;
    assert_eq!(
        on.ws("/rtc", &[]).await.unwrap().recv().await["media"],
        true
    );
}

#[tokio::test]
async fn a_vanished_viewer_is_removed_and_frees_its_place() {
    let server = TestServer::start_with(|c| {
        let media = c.media.as_mut().unwrap();
        media.max_viewers = 1;
        media.silence = Duration::from_secs(2);
    })
    .await;
    let (publisher, _) = whip(&server, "r", "S").await;
    let until = Instant::now() + Duration::from_secs(10);
    let publishing = spawn_publisher(publisher, until, 1);
    let (mut viewer, _) = whep(&server, "/whep/r").await;
    let w = watch_until(&mut viewer, Instant::now() + Duration::from_secs(1)).await;
    assert!(w.video_frames > 0, "{w:?}");
    let (_, offer) = Client::new(LOOPBACK, Direction::RecvOnly).await;
    assert_eq!(
        post_offer(&server, "/whep/r", &offer, None).await.status,
        503,
        "the place is taken"
    );
    drop(viewer); // a phone that went away without a word
    let deadline = Instant::now() + Duration::from_secs(6);
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let (_, offer) = Client::new(LOOPBACK, Direction::RecvOnly).await;
        if post_offer(&server, "/whep/r", &offer, None).await.status == 201 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the silent viewer was never removed"
        );
    }
    publishing.abort();
}

#[tokio::test]
async fn the_publisher_leaving_ends_every_viewer() {
    let server = TestServer::start().await;
    let mut bob = server.peer_at("/rtc?room=r", "Bob", 0).await;
    let (publisher, _) = whip(&server, "r", "S").await;
    let stream = bob.recv().await;
    let stream_id = stream["data"]["id"].as_str().unwrap().to_string();
    let until = Instant::now() + Duration::from_secs(10);
    let publishing = spawn_publisher(publisher, until, 1);
    let (mut whep_viewer, location) = whep(&server, "/whep/r").await;
    let (mut app_viewer, offer) = Client::new(LOOPBACK, Direction::RecvOnly).await;
    bob.send(json!({"type":"watch","data":{"target":stream_id,"sdp":offer}}))
        .await;
    let accept = bob.recv().await;
    app_viewer.accept(accept["data"]["sdp"].as_str().unwrap());
    let soon = Instant::now() + Duration::from_secs(1);
    let (w1, w2) = tokio::join!(
        watch_until(&mut whep_viewer, soon),
        watch_until(&mut app_viewer, soon)
    );
    assert!(w1.video_frames > 0 && w2.video_frames > 0, "{w1:?} {w2:?}");
    publishing.abort(); // OBS crashed: no DELETE, the connection just stops
                        // Within the silence deadline (30 s by default) the broadcast is gone:
                        // the app's viewer hears it ended, the stream leaves the list, and the
                        // WHEP session no longer exists.
    let mut told = false;
    let mut removed = false;
    while !(told && removed) {
        let m = match bob.next_within(Duration::from_secs(40)).await {
            Ok(m) => m,
            Err(end) => panic!("told {told}, removed {removed}: {end:?}"),
        };
        if m["type"] == "hangup" && m["data"]["source"] == stream_id.as_str() {
            told = true;
        }
        if m["type"] == "peer" && m["data"]["remove"] == true {
            removed = true;
        }
    }
    assert_eq!(server.request("DELETE", &location, &[]).await.status, 404);
}

/// The media port, read from an answer's host candidate.
fn media_port(answer: &str) -> u16 {
    answer
        .lines()
        .find_map(|l| {
            let fields: Vec<&str> = l.strip_prefix("a=candidate:")?.split(' ').collect();
            fields.get(5)?.parse().ok()
        })
        .expect("the answer lists a host candidate")
}

/// Datagrams the kernel dropped for the UDP sockets on `port` because their
/// receive buffers were full (`/proc/net/udp`'s last column).
fn kernel_drops(port: u16) -> u64 {
    let table = std::fs::read_to_string("/proc/net/udp").unwrap_or_default();
    let wanted = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.get(1)?.ends_with(&wanted)).then(|| fields.last()?.parse::<u64>().ok())?
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_an_unknown_address_harms_no_one() {
    let server = TestServer::start().await;
    let (mut publisher, offer) = Client::new(LOOPBACK, Direction::SendOnly).await;
    let reply = post_offer(&server, "/whip/r?name=S", &offer, None).await;
    assert_eq!(reply.status, 201);
    let port = media_port(&reply.text());
    publisher.accept(&reply.text());
    let until = Instant::now() + Duration::from_secs(5);
    let publishing = spawn_publisher(publisher, until, 9);
    let (viewer, _) = whep(&server, "/whep/r").await;
    let watching = spawn_viewer(viewer, until);

    // Junk, RTP-looking packets, and STUN requests naming ufrags nobody has,
    // as fast as one socket sends them for two seconds.
    // On a thread of its own, so it floods the server and not this test's
    // own publisher and viewer.
    let target = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let sent = tokio::task::spawn_blocking(move || {
        let flooder = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut stun = vec![0x00, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xA4, 0x42];
        stun.extend_from_slice(&[7; 12]);
        stun.extend_from_slice(&[0x00, 0x06, 0x00, 0x08]);
        stun.extend_from_slice(b"nobody:x");
        let mut rtp = vec![0x80, 0x60, 0, 1, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef];
        rtp.resize(1200, 0x55);
        let flood_until = Instant::now() + Duration::from_secs(2);
        let mut sent = 0u32;
        while Instant::now() < flood_until && sent < 200_000 {
            for datagram in [&stun[..], &rtp[..], &b"\xff\x00junk"[..]] {
                let _ = flooder.send_to(datagram, target);
                sent += 1;
            }
        }
        sent
    })
    .await
    .unwrap();
    let watched = watching.await.unwrap();
    let _ = publishing.await;
    assert!(
        sent > 1000,
        "the flood was too small to mean anything: {sent}"
    );
    // Dropped and counted (at least most of what the kernel's buffer took).
    let metrics = server.get("/metrics").await.text();
    let dropped: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("lanrtc_media_unknown_dropped_total "))
        .and_then(|v| v.parse().ok())
        .expect("the drop counter is exported");
    // What the kernel took in is what the server must have counted: the rest
    // overflowed the socket's buffer (a loaded machine reads slower than one
    // thread floods), which the kernel counts per socket.
    let overflowed = kernel_drops(port);
    let delivered = f64::from(sent) - overflowed as f64;
    eprintln!("flood: {sent} sent, {overflowed} overflowed the socket buffer, {dropped} counted");
    assert!(
        dropped >= delivered * 0.9 && dropped > 1000.0,
        "{dropped} of {sent} junk datagrams counted ({overflowed} overflowed the socket buffer)"
    );
    assert_watched(&watched, 9, "the viewer during the flood");
    // Once the picture started, it kept coming through the flood: most of
    // the frames sent from then until the end arrived (how soon it started
    // depends on the machine's load, not on the flood), and the last ones
    // came after the flood had ended.
    let first = watched.first_video_at.expect("video arrived");
    let expected = until.saturating_duration_since(first).as_secs_f64() * FPS as f64;
    eprintln!(
        "flood: first video {:?} after connecting, {} frames of ~{expected:.0} expected since",
        first - watched.connected_at.unwrap(),
        watched.video_frames
    );
    assert!(
        expected > 45.0,
        "the picture only started {:?} before the end: {watched:?}",
        until - first
    );
    assert!(
        watched.video_frames as f64 >= expected * 0.8,
        "{} frames of ~{expected:.0} sent while watching: {watched:?}",
        watched.video_frames
    );
    let last = watched.last_media_at.unwrap();
    assert!(
        until.saturating_duration_since(last) < Duration::from_millis(500),
        "media stopped {:?} before the end: {watched:?}",
        until - last
    );
}

#[test]
fn hostile_offers_are_refused_one_by_one() {
    use proptest::prelude::*;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(TestServer::start());
    let (_, offer) = rt.block_on(Client::new(LOOPBACK, Direction::SendOnly));
    let lines: Vec<String> = offer.lines().map(String::from).collect();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    });
    let strategy = (
        0..lines.len(),
        0..4u8,
        proptest::collection::vec(any::<u8>(), 0..40),
    );
    runner
        .run(&strategy, |(at, how, junk)| {
            let mut mutated = lines.clone();
            let junk = String::from_utf8_lossy(&junk).into_owned();
            match how {
                0 => mutated.truncate(at),
                1 => {
                    mutated.remove(at);
                }
                2 => mutated[at] = junk,
                _ => mutated[at] = format!("{}{junk}", mutated[at]),
            }
            let body = mutated.join("\r\n") + "\r\n";
            let reply = rt.block_on(post_offer(&server, "/whip/r", &body, None));
            prop_assert!(
                reply.status == 201 || reply.status == 400,
                "{} for {body:?}: {}",
                reply.status,
                reply.text()
            );
            prop_assert!(!reply.text().is_empty());
            if reply.status == 201 {
                let location = reply.header("location").to_string();
                rt.block_on(server.request("DELETE", &location, &[]));
            }
            Ok(())
        })
        .unwrap();
    // The server still takes a real publisher and viewer afterwards.
    rt.block_on(async {
        let (_p, _) = whip(&server, "r", "After").await;
        let (_v, _) = whep(&server, "/whep/r").await;
    });
}
