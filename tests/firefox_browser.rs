//! Another browser engine: Chromium and Firefox (Debian's firefox-esr, over
//! geckodriver) call each other in both directions with video playing both
//! ways, and Firefox watches a live stream Chromium sends through the
//! appliance; last, Chromium sends Firefox a file (it arrives intact, written
//! to Firefox's origin-private file system) and Firefox answers with a text.
//! Inside a private network namespace, as every browser test here. `.ci/run`
//! installs firefox-esr and geckodriver.

mod common;
mod e2e;
mod netns;

use std::time::Duration;

use e2e::Browser;

#[test]
fn chromium_and_firefox_call_each_other_and_firefox_watches() {
    e2e::run_outer_checked(
        "the Firefox browser test",
        "firefox",
        "firefox_inside_namespace",
        Duration::from_secs(180),
        e2e::firefox_prerequisites,
    );
}

#[test]
#[ignore = "run by chromium_and_firefox_call_each_other_and_firefox_watches inside its network namespace"]
fn firefox_inside_namespace() {
    e2e::run_inner(scenario);
}

async fn scenario() {
    let root = tempfile::tempdir().unwrap();
    let (url, ca, stop, server) = e2e::serve_app(root.path()).await;
    let (alice, fox) = tokio::join!(
        Browser::launch("chromium", root.path(), &ca),
        Browser::launch_firefox("firefox", root.path(), &ca)
    );
    for b in [&alice, &fox] {
        b.client.goto(&url).await.unwrap();
        b.wait_for(
            "the signaling socket",
            "document.getElementById('signal-state')?.textContent === 'Connected'",
        )
        .await;
    }
    alice.fill("Your name", "Alice").await;
    fox.fill("Your name", "Fox").await;

    // Chromium calls Firefox, then Firefox calls Chromium.
    for (caller, callee, callee_name) in [(&alice, &fox, "Fox"), (&fox, &alice, "Alice")] {
        caller.press(&format!("Call {callee_name}")).await;
        callee.wait_call_state("ringing").await;
        callee.press("Accept").await;
        for b in [caller, callee] {
            b.wait_call_state("in-call").await;
            b.js("window.__lastT = []; return true;").await;
            b.wait_for("remote video playing", e2e::REMOTE_PLAYING)
                .await;
        }
        caller.press("Hang up").await;
        for b in [caller, callee] {
            b.wait_call_state("idle").await;
        }
    }

    // Firefox watches Chromium's live stream (through the appliance).
    alice.press("Go live").await;
    alice
        .wait_for("live", "document.body.dataset.live === 'on'")
        .await;
    fox.press("Watch Alice").await;
    fox.wait_for("the stream playing", e2e::STREAM_PLAYING)
        .await;
    fox.wait_for(
        "the path it came by",
        "document.getElementById('watch-state').dataset.via === 'appliance'",
    )
    .await;
    fox.press("Stop watching").await;
    alice.press("Stop live").await;

    // A file from Chromium to Firefox, and a text back.
    let (file, sha) = e2e::make_file(root.path(), "slides.pdf", 6_000_000, 5);
    e2e::send_files(&alice, "Fox", &[&file]).await;
    fox.press("Accept the files from Alice").await;
    e2e::wait_state(&fox, "done", Duration::from_secs(30)).await;
    e2e::wait_state(&alice, "done", Duration::from_secs(10)).await;
    assert_eq!(e2e::received_hashes(&fox).await, vec![sha]);
    assert_eq!(e2e::newest(&fox, "via").await, "direct");
    assert_eq!(
        e2e::newest(&fox, "store").await,
        "opfs-worker",
        "Firefox did not write through the disk worker"
    );
    let store = fox
        .js("return [...document.querySelectorAll('#transfers a.save')].length;")
        .await;
    assert_eq!(store, 1, "Firefox offers no Save link");
    e2e::send_text(&fox, "Alice", "seen, thanks").await;
    alice
        .wait_for(
            "Fox's text",
            "document.body.innerText.includes('Fox sent you a text')",
        )
        .await;

    alice.quit().await;
    fox.quit().await;
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
}
