//! The moments around a call, in two real browsers inside a private network
//! namespace: a call to a page in a background tab shows a system
//! notification; a call that rang unanswered is listed as missed, with a
//! "Call back" that works; and a link that loses a third of its packets
//! says "Poor connection" until it recovers. Last, every waiting state has
//! a deadline: watching a broadcaster that never answers ends in a message
//! after 15 s instead of "connecting" for ever.

mod common;
mod e2e;
mod netns;

use std::process::Command;
use std::time::Duration;

use e2e::{Browser, SERVER_ADDR};

#[test]
fn ringing_missed_calls_and_a_poor_link() {
    e2e::run_outer_checked(
        "the ringing and link-quality test",
        "ring",
        "ringing_inside_namespace",
        Duration::from_secs(150),
        e2e::prerequisites_with_nft,
    );
}

#[test]
#[ignore = "run by ringing_missed_calls_and_a_poor_link inside its network namespace"]
fn ringing_inside_namespace() {
    e2e::run_inner(scenario);
}

const STATE: &str = "document.getElementById('connection-state').textContent";

async fn scenario() {
    let root = tempfile::tempdir().unwrap();
    let (url, ca, stop, server) = e2e::serve_app(root.path()).await;
    let (alice, bob) = tokio::join!(
        Browser::launch("alice", root.path(), &ca),
        Browser::launch("bob", root.path(), &ca)
    );
    for b in [&alice, &bob] {
        b.client.goto(&url).await.unwrap();
    }
    alice.fill("Your name", "Alice").await;
    bob.fill("Your name", "Bob").await;
    // Bob answers: asking for notification permission happens there, on a
    // person's click, never on load (the test browser grants it).
    e2e::call(&alice, &bob, "Bob").await;
    for b in [&alice, &bob] {
        b.wait_for("connected", &format!("{STATE} === 'Connected'"))
            .await;
    }

    // A third of every UDP datagram lost, at random (nftables; Debian's
    // kernel here has no netem): the call is still up but poor, and says
    // so; once the loss stops it says "Connected" again.
    nft(&["add", "table", "inet", "lossy"]);
    nft(&[
        "add",
        "chain",
        "inet",
        "lossy",
        "out",
        "{ type filter hook output priority 0; }",
    ]);
    nft(&[
        "add", "rule", "inet", "lossy", "out", "meta", "l4proto", "udp", "numgen", "random", "mod",
        "100", "lt", "33", "drop",
    ]);
    for b in [&alice, &bob] {
        b.wait_for(
            "the poor link to show",
            &format!("{STATE} === 'Poor connection'"),
        )
        .await;
    }
    assert_eq!(
        alice.js("return document.body.dataset.callState;").await,
        "in-call"
    );
    nft(&["delete", "table", "inet", "lossy"]);
    for b in [&alice, &bob] {
        b.wait_for("the link to recover", &format!("{STATE} === 'Connected'"))
            .await;
    }
    alice.press("Hang up").await;
    for b in [&alice, &bob] {
        b.wait_call_state("idle").await;
    }

    // Bob's app goes to a background tab; Alice calls: his page rings with
    // a system notification, since nobody is looking at it.
    let app_tab = bob.client.window().await.unwrap();
    let other = bob.client.new_window(true).await.unwrap();
    bob.client.switch_to_window(other.handle).await.unwrap();
    bob.client.goto("about:blank").await.unwrap();
    alice.press("Call Bob").await;
    alice.wait_call_state("calling").await;
    // Her own camera fills the stage under Bob's name: it must say that it
    // rings, not that a connection is being made.
    alice
        .wait_for(
            "the stage saying it rings",
            "document.getElementById('connection-state').textContent === 'Ringing…'",
        )
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    bob.client.switch_to_window(app_tab).await.unwrap();
    let ringer = bob.js("return window.lanrtc.ringer;").await;
    assert_eq!(ringer["ringing"], true, "{ringer}");
    assert_eq!(
        ringer["notification"], true,
        "a page in the background shows a notification: {ringer}"
    );
    // Alice gives up before Bob answers: Bob's page lists a missed call
    // from her, and the notification goes away with the ringing.
    alice.press("Cancel").await;
    bob.wait_call_state("idle").await;
    bob.wait_for(
        "the missed call listed",
        "(() => { const m = document.getElementById('missed'); \
         return !m.hidden && m.offsetParent !== null \
           && document.querySelector('#missed-list .missed-name').textContent === 'Alice' \
           && document.querySelector('#missed-list time').textContent.length > 0; })()",
    )
    .await;
    let ringer = bob.js("return window.lanrtc.ringer;").await;
    assert_eq!(ringer["notification"], false, "{ringer}");
    // To look at: the list as Bob sees it.
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("missed-calls.png");
    std::fs::write(&shot, bob.client.screenshot().await.unwrap()).unwrap();

    // "Call back" calls her; the list survives a reload of the page.
    bob.client.refresh().await.unwrap();
    bob.press("Call Alice back").await;
    alice.wait_call_state("ringing").await;
    alice.press("Accept").await;
    for b in [&alice, &bob] {
        b.wait_call_state("in-call").await;
    }
    bob.press("Hang up").await;
    bob.press("Clear missed calls").await;
    bob.wait_for(
        "the list cleared",
        "document.getElementById('missed').hidden",
    )
    .await;
    // Alice's call was answered: nothing missed there.
    assert_eq!(
        alice
            .js("return document.getElementById('missed').hidden;")
            .await,
        true
    );

    // A broadcaster that says it is live but never answers a viewer (its
    // viewer connection failed to build): a bare signaling client.
    let mut mute = silent_broadcaster(&url, &ca).await;
    alice.press("Watch Mute").await;
    alice
        .wait_for(
            "the viewer to wait",
            "document.body.dataset.watchState === 'connecting'",
        )
        .await;
    // The viewer's offer reached it (after the peer list's messages).
    loop {
        let m = mute.recv().await;
        if m["type"] == "watch" {
            break;
        }
        assert_eq!(m["type"], "peer", "{m}");
    }
    tokio::time::sleep(Duration::from_secs(12)).await;
    alice
        .wait_for(
            "watching to give up with a message",
            "document.body.dataset.watchState === 'idle' \
             && document.getElementById('status').textContent.includes('did not start: no picture came within 15 seconds')",
        )
        .await;

    alice.quit().await;
    bob.quit().await;
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// A signaling client that identifies as "Mute", live, and then only listens.
async fn silent_broadcaster(url: &str, ca_pem: &std::path::Path) -> common::Ws {
    use tokio_rustls::rustls::pki_types::{pem::PemObject, CertificateDer};
    let ca = CertificateDer::from_pem_file(ca_pem).unwrap();
    let addr: std::net::SocketAddr = url
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let tls = common::tls_connect(addr, common::client_config(&ca), SERVER_ADDR)
        .await
        .expect("TLS");
    let (ws, response) = tokio_tungstenite::client_async(format!("wss://{addr}/rtc"), tls)
        .await
        .expect("upgrade");
    let mut ws = common::Ws {
        ws,
        response_headers: response.headers().clone(),
        id: String::new(),
    };
    let ready = ws.recv().await;
    ws.id = ready["id"].as_str().unwrap().to_string();
    let id = ws.id.clone();
    ws.send(
        serde_json::json!({"type": "identify", "data": {"id": id, "name": "Mute", "live": true}}),
    )
    .await;
    // Only `peer` messages until someone asks to watch.
    ws
}

fn nft(args: &[&str]) {
    netns::run(Command::new("nft").args(args));
}
