//! Two real browsers, one call: the app as a person uses it, end to end, in
//! headless Chromium with fake camera and microphone, inside a private
//! network namespace (see tests/e2e/mod.rs for why and how).

mod common;
mod e2e;
mod netns;

use std::time::Duration;

use e2e::{Browser, SERVER_ADDR};

#[test]
fn two_browsers_call_each_other() {
    e2e::run_outer(
        "the browser scenario",
        "e2e",
        "call_scenario_inside_namespace",
        Duration::from_secs(120),
    );
}

/// The scenario itself; only meaningful inside the namespace made above.
#[test]
#[ignore = "run by two_browsers_call_each_other inside its network namespace"]
fn call_scenario_inside_namespace() {
    e2e::run_inner(scenario);
}

async fn scenario() {
    let root = tempfile::tempdir().unwrap();
    let certs = root.path().join("certs");
    // A copy of the app, so the test can edit it while pages are open.
    let app = root.path().join("public");
    e2e::copy_dir(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/public")),
        &app,
    );
    let mut settings = common::settings(&certs);
    settings.public_dir = Some(app.clone());
    settings.bind = Some(SERVER_ADDR.into());
    settings.host = Some("e2e".into());
    let config = lanrtc::Config::load(&settings).unwrap();
    let listener = tokio::net::TcpListener::bind((SERVER_ADDR, 0))
        .await
        .unwrap();
    let url = format!(
        "https://{SERVER_ADDR}:{}/",
        listener.local_addr().unwrap().port()
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(lanrtc::run(config, listener, async {
        let _ = stopped.await;
    }));

    let ca = certs.join("ca.pem");
    let (alice, bob, carol) = tokio::join!(
        Browser::launch("alice", root.path(), &ca),
        Browser::launch("bob", root.path(), &ca),
        Browser::launch("carol", root.path(), &ca)
    );
    for (i, b) in [&alice, &bob, &carol].into_iter().enumerate() {
        b.client.goto(&url).await.unwrap();
        b.wait_for(
            "the signaling socket",
            "document.getElementById('signal-state')?.textContent === 'Connected'",
        )
        .await;
        if i == 0 {
            // Alone on the network: the page explains how to join, with the
            // address and a QR code of it that really loaded: the plain-HTTP
            // landing there, which leads a new device through trusting.
            let expected = serde_json::to_string(&url.replacen("https://", "http://", 1)).unwrap();
            alice
                .wait_for(
                    "the empty state with URL and QR code",
                    &format!(
                        "(() => {{ const e = document.getElementById('peers-empty'); const qr = document.getElementById('join-qr'); \
                         return e && e.offsetParent !== null && e.innerText.includes({expected}) && qr.complete && qr.naturalWidth > 0; }})()"
                    ),
                )
                .await;
        }
    }
    alice.fill("Your name", "Alice").await;
    bob.fill("Your name", "Bob").await;
    carol.fill("Your name", "Carol").await;
    alice.wait_for("Bob in Peers", "[...document.querySelectorAll('#peers button')].some(b => b.textContent.trim() === 'Call Bob')").await;
    bob.wait_for("Alice in Peers", "[...document.querySelectorAll('#peers button')].some(b => b.textContent.trim() === 'Call Alice')").await;

    // Decline.
    alice.press("Call Bob").await;
    alice
        .wait_for(
            "the calling state",
            "document.body.innerText.includes('Calling Bob…')",
        )
        .await;
    bob.wait_for("the incoming-call dialog", "[...document.querySelectorAll('[role=dialog]')].some(d => d.offsetParent !== null && d.innerText.includes('Alice is calling'))").await;
    // It rings: a generated tone through a running audio context.
    bob.wait_for(
        "the ring tone",
        "window.lanrtc.ringer.ringing && window.lanrtc.ringer.tone === 'running'",
    )
    .await;
    bob.press("Decline").await;
    bob.wait_for("the ringing to stop", "!window.lanrtc.ringer.ringing")
        .await;
    alice.wait_status("Bob declined the call.").await;
    for b in [&alice, &bob] {
        b.wait_call_state("idle").await;
    }

    // Cancel.
    alice.press("Call Bob").await;
    bob.wait_call_state("ringing").await;
    alice.press("Cancel").await;
    bob.wait_status("Alice cancelled the call.").await;
    for b in [&alice, &bob] {
        b.wait_call_state("idle").await;
    }

    // A call with media both ways.
    e2e::call(&alice, &bob, "Bob").await;
    for b in [&alice, &bob] {
        b.wait_for(
            "own camera preview",
            "document.getElementById('local-video').videoWidth > 0",
        )
        .await;
    }

    // A third person calling someone in a call hears that they are busy,
    // and the call goes on undisturbed.
    carol.press("Call Alice").await;
    carol.wait_status("Alice is busy.").await;
    carol.wait_call_state("idle").await;
    alice.wait_call_state("in-call").await;
    // Alice's own Call buttons are greyed out, and say why.
    let why = alice
        .js("const b = [...document.querySelectorAll('#peers button')].find((b) => b.textContent === 'Call Carol'); \
             return [b.disabled, b.title];")
        .await;
    assert_eq!(
        why,
        serde_json::json!([true, "You are in a call: hang up to call someone else"])
    );

    // Chat over the data channel.
    alice.fill("Message", "hello from Alice").await;
    bob.wait_for(
        "Alice's message",
        "document.getElementById('chat-log').innerText.includes('Alice: hello from Alice')",
    )
    .await;
    alice
        .wait_for(
            "own message echoed",
            "document.getElementById('chat-log').innerText.includes('You: hello from Alice')",
        )
        .await;

    // A rename reaches the other side.
    bob.fill("Your name", "Bobby").await;
    alice
        .wait_for(
            "the rename",
            "document.getElementById('peers').innerText.includes('Bobby')",
        )
        .await;

    // The picture for the README: a call in progress.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let png = alice.client.screenshot().await.unwrap();
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("call-in-progress.png");
    std::fs::write(&shot, png).unwrap();
    eprintln!("screenshot of the call: {}", shot.display());
    // The same call on a phone held upright: the hang-up button must be
    // reachable without scrolling.
    bob.client.set_window_size(390, 844).await.unwrap();
    bob.wait_for(
        "Hang up within a phone screen",
        "(() => { const b = [...document.querySelectorAll('button')].find(b => b.textContent.trim() === 'Hang up'); \
         const r = b && b.getBoundingClientRect(); return !!r && r.bottom <= window.innerHeight && r.width > 0; })()",
    )
    .await;
    let phone = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("call-on-a-phone.png");
    std::fs::write(&phone, bob.client.screenshot().await.unwrap()).unwrap();

    // Live reload of a stylesheet mid-call: the new style applies on both
    // pages and the call goes on.
    for b in [&alice, &bob] {
        b.js("window.__sameDocument = true; return true;").await;
    }
    let css = app.join("style.css");
    let mut style = std::fs::read_to_string(&css).unwrap();
    style.push_str("\nbody { outline: 3px solid rgb(1, 2, 3); }\n");
    std::fs::write(&css, style).unwrap();
    for b in [&alice, &bob] {
        b.wait_for(
            "the new style",
            "getComputedStyle(document.body).outlineColor === 'rgb(1, 2, 3)'",
        )
        .await;
        b.wait_for(
            "no reload for a stylesheet",
            "window.__sameDocument === true",
        )
        .await;
        b.wait_call_state("in-call").await;
        b.js("window.__lastT = []; return true;").await;
        b.wait_for("remote video still playing", e2e::REMOTE_PLAYING)
            .await;
    }

    // A network cut longer than a blip: every UDP datagram dropped for 9 s
    // (policy routing, as the fallback test does for the media port), and
    // both pages' signaling sockets reset, as a Wi-Fi outage does. The
    // link goes "disconnected"; both pages come back to the server with new
    // ids and prove their old ones, so each call follows the other side to
    // its new id; the caller restarts ICE over the server (the other side's
    // ICE credentials change), and once the network is back the call goes
    // on with video both ways.
    let before = alice.js("return window.lanrtc.remoteIceUfrag;").await;
    assert!(before.is_string(), "{before}");
    for args in [
        &["rule", "add", "pref", "100", "lookup", "local"][..],
        &["rule", "del", "pref", "0"][..],
        &["rule", "add", "pref", "10", "ipproto", "udp", "blackhole"][..],
    ] {
        netns::run(std::process::Command::new("ip").args(args));
    }
    let ids = e2e::reset_connections(&[&alice, &bob], "dport").await;
    for (b, id) in [&alice, &bob].into_iter().zip(&ids) {
        e2e::wait_new_id(b, id, "true", "signaling back with a new id").await;
    }
    alice
        .wait_for(
            "the link to drop",
            "document.getElementById('connection-state').textContent === 'Reconnecting\u{2026}'",
        )
        .await;
    alice.wait_status("Reconnecting to Bobby\u{2026}").await;
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    netns::run(std::process::Command::new("ip").args(["rule", "del", "pref", "10"]));
    for b in [&alice, &bob] {
        b.wait_for(
            "the call back after the cut",
            "document.getElementById('connection-state').textContent === 'Connected'",
        )
        .await;
        b.wait_call_state("in-call").await;
        b.js("window.__lastT = []; return true;").await;
        b.wait_for("remote video playing after the cut", e2e::REMOTE_PLAYING)
            .await;
    }
    let after = alice.js("return window.lanrtc.remoteIceUfrag;").await;
    assert_ne!(before, after, "the link came back through an ICE restart");

    // Going live during the call shares the call's camera instead of
    // opening it a second time (iOS would stop the call's capture).
    alice
        .js("window.__captures = 0; const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices); \
             navigator.mediaDevices.getUserMedia = (c) => { window.__captures++; return real(c); }; return true;")
        .await;
    alice.press("Go live").await;
    alice
        .wait_for(
            "live during the call",
            "window.lanrtc.broadcast !== null && document.body.dataset.live === 'on'",
        )
        .await;
    assert_eq!(
        alice.js("return window.__captures;").await,
        0,
        "no second capture"
    );
    alice.press("Stop live").await;
    alice
        .wait_for("off air", "document.body.dataset.live === 'off'")
        .await;
    alice.wait_call_state("in-call").await;
    alice.js("window.__lastT = []; return true;").await;
    bob.js("window.__lastT = []; return true;").await;
    bob.wait_for("the call still playing after live", e2e::REMOTE_PLAYING)
        .await;

    // Hang up ends it on both sides.
    alice.press("Hang up").await;
    for b in [&alice, &bob] {
        b.wait_call_state("idle").await;
    }

    // Any other change reloads every page.
    for b in [&alice, &bob, &carol] {
        b.js("window.__sameDocument = true; return true;").await;
    }
    let js = app.join("js/main.js");
    let mut code = std::fs::read_to_string(&js).unwrap();
    code.push_str("\n// edited while the pages were open\n");
    std::fs::write(&js, code).unwrap();
    for b in [&alice, &bob, &carol] {
        b.wait_for("a reload", "window.__sameDocument === undefined && document.getElementById('signal-state')?.textContent === 'Connected'").await;
        b.wait_call_state("idle").await;
    }

    // A script with a syntax error: the pages say the app failed to load
    // (not "Reconnecting…" forever), and saving the fix brings them back.
    let chat = app.join("js/ui/chat.js");
    let good = std::fs::read_to_string(&chat).unwrap();
    std::fs::write(&chat, format!("{good}\nthis is not javascript(\n")).unwrap();
    for b in [&alice, &bob] {
        b.wait_for(
            "the failed-to-load notice",
            "document.body.dataset.boot === 'failed' && document.getElementById('signal-state').textContent === 'The app failed to load' \
             && document.getElementById('status').textContent.includes('chat.js')",
        )
        .await;
    }
    std::fs::write(&chat, good).unwrap();
    for b in [&alice, &bob] {
        b.wait_for(
            "the app back after the fix",
            "document.body.dataset.boot === undefined && document.getElementById('signal-state')?.textContent === 'Connected'",
        )
        .await;
    }

    alice.quit().await;
    bob.quit().await;
    carol.quit().await;
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
