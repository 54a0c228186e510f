//! Going live in real browsers, behind an access key, in a private room:
//! Alice opens the printed link (with the key), makes a private room and goes
//! live; Bob and Carol open the room's shared link and watch; Dave, in the
//! lobby, sees none of it; a browser without the link is turned away. Run in
//! headless Chromium inside a private network namespace (tests/e2e/mod.rs).
//!
//! Twice: through the appliance's media server (the default: Alice's
//! browser sends one stream however many watch, and a WHIP publisher that is
//! not a browser is watched in the app too), and with `MEDIA=off`, where
//! Alice's browser streams to each viewer itself.

mod common;
mod e2e;
mod netns;

use std::time::Duration;

use e2e::{Browser, SERVER_ADDR};

#[test]
fn a_broadcaster_and_two_viewers_through_the_appliance() {
    if let Err(why) = whip_publisher_available() {
        netns::skip_or_fail("the appliance live-stream scenario", &why);
        return;
    }
    e2e::run_outer(
        "the appliance live-stream scenario",
        "livesfu",
        "appliance_scenario_inside_namespace",
        Duration::from_secs(180),
    );
}

#[test]
fn a_broadcaster_and_two_viewers_device_to_device() {
    e2e::run_outer(
        "the device-to-device live-stream scenario",
        "live",
        "mesh_scenario_inside_namespace",
        Duration::from_secs(150),
    );
}

/// The scenarios themselves; only meaningful inside the namespaces made above.
#[test]
#[ignore = "run by a_broadcaster_and_two_viewers_through_the_appliance inside its namespace"]
fn appliance_scenario_inside_namespace() {
    e2e::run_inner(|| scenario(true));
}

#[test]
#[ignore = "run by a_broadcaster_and_two_viewers_device_to_device inside its namespace"]
fn mesh_scenario_inside_namespace() {
    e2e::run_inner(|| scenario(false));
}

#[test]
fn going_live_falls_back_to_the_device_when_the_media_port_is_unreachable() {
    e2e::run_outer(
        "the fallback live-stream scenario",
        "livefb",
        "fallback_scenario_inside_namespace",
        Duration::from_secs(120),
    );
}

#[test]
#[ignore = "run by going_live_falls_back_to_the_device_when_the_media_port_is_unreachable inside its namespace"]
fn fallback_scenario_inside_namespace() {
    e2e::run_inner(fallback_scenario);
}

/// A firewall that blocks the media port: the app is served and signals as
/// usual, but no media connection to the appliance can come up.
async fn fallback_scenario() {
    let root = tempfile::tempdir().unwrap();
    let certs = root.path().join("certs");
    let mut settings = common::settings(&certs);
    settings.bind = Some(SERVER_ADDR.into());
    settings.host = Some("e2e".into());
    // A fixed port is safe here: this namespace holds nothing else.
    const MEDIA_PORT: &str = "40000";
    settings.media_port = Some(MEDIA_PORT.into());
    // Policy routing as the firewall: a rule ahead of the local table sends
    // every UDP datagram for the media port to a black hole (no kernel
    // modules needed, unlike tc actions or netfilter).
    for args in [
        &["rule", "add", "pref", "100", "lookup", "local"][..],
        &["rule", "del", "pref", "0"][..],
        &[
            "rule",
            "add",
            "pref",
            "10",
            "ipproto",
            "udp",
            "dport",
            MEDIA_PORT,
            "blackhole",
        ][..],
    ] {
        let ok = std::process::Command::new("ip")
            .args(args)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip {args:?} failed");
    }
    let config = lanrtc::Config::load(&settings).unwrap();
    let (origin, stop, server) = e2e::serve(config).await;
    let ca = certs.join("ca.pem");
    let (alice, bob) = tokio::join!(
        Browser::launch("alice", root.path(), &ca),
        Browser::launch("bob", root.path(), &ca)
    );
    for (b, name) in [(&alice, "Alice"), (&bob, "Bob")] {
        b.client
            .goto(&format!("{origin}/r/fallback"))
            .await
            .unwrap();
        b.wait_for("the signaling socket", CONNECTED).await;
        b.fill("Your name", name).await;
    }
    bob.wait_for("Alice in the room", &peer_button("Call Alice"))
        .await;
    alice.press("Go live").await;
    alice
        .wait_for(
            "connecting to the appliance",
            "document.getElementById('live-audience').textContent.startsWith('Connecting to the appliance')",
        )
        .await;
    // After the appliance's deadline (8 s) the page says why and streams
    // from the device instead.
    alice.wait_for(
        "the fallback",
        "document.getElementById('live-audience').textContent.startsWith('Live. No one is watching yet')",
    )
    .await;
    alice.wait_status("could not be reached").await;
    bob.wait_for("Alice live", &peer_button("Watch Alice"))
        .await;
    bob.press("Watch Alice").await;
    bob.wait_for("the stream playing", e2e::STREAM_PLAYING)
        .await;
    bob.wait_for(
        "the stream's path",
        "document.getElementById('watch-state').dataset.via === 'direct'",
    )
    .await;
    for b in [alice, bob] {
        b.quit().await;
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// The WHIP publisher (tests/e2e/whip_publish.py) needs Python's aiortc.
fn whip_publisher_available() -> Result<(), String> {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import aiortc"])
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Ok(())
    } else {
        Err("python3 with aiortc is not installed (pip install aiortc)".into())
    }
}

/// How many video streams the broadcaster's page sends, from `getStats()`.
/// The broadcaster's connections that send video.
const OUTBOUND_VIDEO: &str = "const b = window.lanrtc.broadcast; \
    const pcs = b.pc ? [b.pc] : [...b.links.values()].map(l => l.pc); \
    return Promise.all(pcs.map(pc => pc.getStats())).then(all => all.filter(r => [...r.values()] \
      .some(s => s.type === 'outbound-rtp' && s.kind === 'video' && s.bytesSent > 0)).length);";

/// The simulcast layers the broadcaster's one connection to the appliance sends.
const OUTBOUND_LAYERS: &str =
    "return window.lanrtc.broadcast.pc.getStats().then(r => [...r.values()] \
    .filter(s => s.type === 'outbound-rtp' && s.kind === 'video' && s.bytesSent > 0).length);";

const CONNECTED: &str = "document.getElementById('signal-state')?.textContent === 'Connected'";

fn peer_button(label: &str) -> String {
    let label = serde_json::to_string(label).unwrap();
    format!("[...document.querySelectorAll('#peers button')].some(b => b.offsetParent !== null && b.textContent.trim() === {label})")
}

async fn scenario(media: bool) {
    let root = tempfile::tempdir().unwrap();
    let certs = root.path().join("certs");
    let mut settings = common::settings(&certs);
    settings.bind = Some(SERVER_ADDR.into());
    settings.host = Some("e2e".into());
    settings.access_key = Some("auto".into());
    if !media {
        settings.media = Some("off".into());
    }
    let config = lanrtc::Config::load(&settings).unwrap();
    let key = config.access.as_ref().unwrap().as_str().to_string();
    let (origin, stop, server) = e2e::serve(config).await;

    let ca = certs.join("ca.pem");
    let (alice, bob, carol, dave) = tokio::join!(
        Browser::launch("alice", root.path(), &ca),
        Browser::launch("bob", root.path(), &ca),
        Browser::launch("carol", root.path(), &ca),
        Browser::launch("dave", root.path(), &ca)
    );

    // Without the link, Dave is told how to get in, and no socket opens.
    dave.client.goto(&format!("{origin}/")).await.unwrap();
    dave.wait_for(
        "the page for strangers",
        "document.body.innerText.includes('Ask for the link to join')",
    )
    .await;

    // Alice opens the printed link: the key goes into a cookie and the
    // address bar is left clean.
    alice
        .client
        .goto(&format!("{origin}/?key={key}"))
        .await
        .unwrap();
    alice.wait_for("the signaling socket", CONNECTED).await;
    let here = alice.client.current_url().await.unwrap();
    assert_eq!(
        here.as_str(),
        format!("{origin}/"),
        "the key must leave the URL"
    );
    alice.fill("Your name", "Alice").await;

    // A private room with an unguessable name, and its link to share, which
    // carries the key.
    alice.press("New private room").await;
    alice.wait_for("the private room", CONNECTED).await;
    alice
        .wait_for(
            "the room's title",
            "document.getElementById('people-title').textContent === 'Private room'",
        )
        .await;
    let room_url = alice.client.current_url().await.unwrap();
    let room = room_url
        .path()
        .strip_prefix("/r/")
        .expect("a room URL")
        .to_string();
    assert!(
        room.len() >= 16,
        "room name {room:?} is too short to be unguessable"
    );
    let share = alice
        .js("return document.getElementById('join-url').textContent;")
        .await;
    let share = share.as_str().unwrap().to_string();
    assert_eq!(share, format!("{origin}/r/{room}?key={key}"));
    alice
        .wait_for(
            "the room's QR code",
            "(() => { const qr = document.getElementById('join-qr'); return qr.offsetParent !== null && qr.complete && qr.naturalWidth > 0; })()",
        )
        .await;

    // Bob and Carol open the shared link; Dave gets the lobby's link.
    for (b, name) in [(&bob, "Bob"), (&carol, "Carol")] {
        b.client.goto(&share).await.unwrap();
        b.wait_for("the signaling socket", CONNECTED).await;
        b.fill("Your name", name).await;
        b.wait_for("Alice in the room", &peer_button("Call Alice"))
            .await;
    }
    dave.client
        .goto(&format!("{origin}/?key={key}"))
        .await
        .unwrap();
    dave.wait_for("the signaling socket", CONNECTED).await;
    dave.fill("Your name", "Dave").await;

    // Alice goes live; the room sees it.
    alice.press("Go live").await;
    alice
        .wait_for("live", "document.body.dataset.live === 'on'")
        .await;
    alice
        .wait_for(
            "own preview",
            "document.getElementById('live-preview').videoWidth > 0",
        )
        .await;
    for b in [&bob, &carol] {
        b.press("Watch Alice").await;
    }
    for b in [&bob, &carol] {
        b.wait_for(
            "watching",
            "document.body.dataset.watchState === 'watching'",
        )
        .await;
        b.wait_for("the stream playing", e2e::STREAM_PLAYING).await;
    }
    let (two, one) = if media {
        (
            "Live through the appliance to 2 viewers",
            "Live through the appliance to 1 viewer",
        )
    } else {
        ("Live to 2 viewers", "Live to 1 viewer")
    };
    alice
        .wait_for(
            "two viewers",
            &format!("document.getElementById('live-audience').textContent.startsWith('{two}')"),
        )
        .await;
    // Through the appliance Alice's browser encodes and sends one stream;
    // device to device, one per viewer. Each viewer's panel says which.
    let streams = alice.js(OUTBOUND_VIDEO).await;
    assert_eq!(
        streams,
        serde_json::json!(if media { 1 } else { 2 }),
        "connections sending video"
    );
    if media {
        // A laptop sends layers (its 640 px camera: 320 and 640), so each
        // viewer gets what its link carries.
        // Chrome starts the upper layer once its bandwidth estimate has
        // ramped up, which on a loaded machine takes a few seconds.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let layers = loop {
            let layers = alice.js(OUTBOUND_LAYERS).await;
            if layers == serde_json::json!(2) || std::time::Instant::now() > deadline {
                break layers;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        assert_eq!(layers, serde_json::json!(2), "simulcast layers sent");
    }
    if media {
        // A WHEP player that is not a browser decodes the same broadcast.
        let url = format!("{origin}/whep/{room}");
        let out = python("whep_watch.py", &[&url, &ca.to_string_lossy(), &key, "30"])
            .kill_on_drop(true)
            .output()
            .await
            .expect("the WHEP player starts");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && said.starts_with("decoded 30 frames"),
            "the WHEP player: {said} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("WHEP player: {}", said.trim());
    }
    let via = if media { "appliance" } else { "direct" };
    for b in [&bob, &carol] {
        b.wait_for(
            "the stream's path",
            &format!("document.getElementById('watch-state').dataset.via === '{via}'"),
        )
        .await;
    }
    // Watching is not a call, and viewers share no camera: nothing on their
    // side captures media.
    for b in [&bob, &carol] {
        b.wait_call_state("idle").await;
        let captured = b
            .js("return document.getElementById('local-video').srcObject === null && document.body.dataset.live === 'off';")
            .await;
        assert_eq!(captured, serde_json::Value::Bool(true), "{}", b.name);
    }

    // Dave, in the lobby, sees nobody from the room.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_lobby_empty(&dave, "the room's peers").await;
    assert!(dave
        .js("return !document.body.innerText.includes('Alice') && !document.body.innerText.includes('Watch');")
        .await
        .as_bool()
        .unwrap());

    // Pictures for the README and for a person checking this by eye.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let suffix = if media { "" } else { "-direct" };
    std::fs::write(
        dir.join(format!("live-broadcaster{suffix}.png")),
        alice.client.screenshot().await.unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join(format!("live-viewer{suffix}.png")),
        bob.client.screenshot().await.unwrap(),
    )
    .unwrap();

    // A viewer who stops watching frees the slot.
    carol.press("Stop watching").await;
    carol
        .wait_for("idle", "document.body.dataset.watchState === 'idle'")
        .await;
    alice
        .wait_for(
            "one viewer left",
            &format!("document.getElementById('live-audience').textContent.startsWith('{one}')"),
        )
        .await;
    carol.js("window.__watchT = []; return true;").await;
    carol.press("Watch Alice").await;
    carol
        .wait_for("the stream playing again", e2e::STREAM_PLAYING)
        .await;

    // Everyone's signaling reset at once (a Wi-Fi outage): Alice's page
    // comes back under a new id and goes live again with the same camera,
    // and both viewers watch her again by themselves.
    let ids = e2e::reset_connections(&[&alice], "dport").await;
    e2e::wait_new_id(
        &alice,
        &ids[0],
        "document.body.dataset.live === 'on'",
        "live again under a new id",
    )
    .await;
    for b in [&bob, &carol] {
        b.wait_for_within(
            "watching Alice again",
            "document.body.dataset.watchState === 'watching'",
            Duration::from_secs(30),
        )
        .await;
        b.js("window.__watchT = []; return true;").await;
        b.wait_for_within(
            "the stream playing after the outage",
            e2e::STREAM_PLAYING,
            Duration::from_secs(30),
        )
        .await;
    }
    alice
        .wait_for(
            "two viewers again",
            &format!("document.getElementById('live-audience').textContent.startsWith('{two}')"),
        )
        .await;

    // Alice stops: both viewers are told and return to idle.
    alice.press("Stop live").await;
    for b in [&bob, &carol] {
        b.wait_for("idle", "document.body.dataset.watchState === 'idle'")
            .await;
        b.wait_status("Alice ended the live stream.").await;
        b.wait_for(
            "no Watch button",
            &format!("!{}", peer_button("Watch Alice")),
        )
        .await;
    }
    alice
        .wait_for("off air", "document.body.dataset.live === 'off'")
        .await;

    if media {
        whip_stream_is_watched_in_the_app(&origin, &room, &key, &ca, &bob, &dave).await;
    }

    for b in [alice, bob, carol, dave] {
        b.quit().await;
    }
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// A WHIP publisher that is not a browser (aiortc, as OBS would) appears in
/// the room as a live stream, offers Watch and no Call, and plays in the
/// app; the lobby never sees it; its DELETE ends it for the viewer.
async fn whip_stream_is_watched_in_the_app(
    origin: &str,
    room: &str,
    key: &str,
    ca: &std::path::Path,
    bob: &Browser,
    dave: &Browser,
) {
    let url = format!("{origin}/whip/{room}?name=Studio%20camera");
    let mut publisher = python("whip_publish.py", &[&url, &ca.to_string_lossy(), key, "12"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the WHIP publisher starts");
    bob.wait_for(
        "the WHIP stream listed",
        &peer_button("Watch Studio camera"),
    )
    .await;
    assert!(
        !bob.js(&format!("return {};", peer_button("Call Studio camera")))
            .await
            .as_bool()
            .unwrap(),
        "a stream cannot be called"
    );
    bob.js("window.__watchT = []; return true;").await;
    bob.press("Watch Studio camera").await;
    bob.wait_for("the WHIP stream playing", e2e::STREAM_PLAYING)
        .await;
    bob.wait_for(
        "the stream's path",
        "document.getElementById('watch-state').dataset.via === 'appliance'",
    )
    .await;
    assert_lobby_empty(dave, "the stream").await;
    // The publisher's DELETE ends it.
    let status = tokio::time::timeout(Duration::from_secs(30), publisher.wait())
        .await
        .expect("the WHIP publisher ends")
        .unwrap();
    assert!(status.success(), "the WHIP publisher failed");
    bob.wait_for("idle", "document.body.dataset.watchState === 'idle'")
        .await;
}

/// One of the aiortc scripts in tests/e2e/.
fn python(script: &str, args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new("python3");
    cmd.arg(format!("{}/tests/e2e/{script}", env!("CARGO_MANIFEST_DIR")))
        .args(args);
    cmd
}

/// Dave, in the lobby, lists nobody.
async fn assert_lobby_empty(dave: &Browser, what: &str) {
    let lobby = dave
        .js("return document.getElementById('peers').innerText;")
        .await;
    assert_eq!(
        lobby,
        serde_json::json!(""),
        "the lobby must not list {what}"
    );
}
