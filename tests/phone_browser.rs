//! A call on phone-sized screens, in two real browsers: at 360×640,
//! 390×844 and 844×390, with 64-character names on both sides, the call's
//! controls are inside the viewport, nothing overflows sideways, and the
//! remote picture is there; the peer list with a long name does not widen
//! the page either; connection states are words; the other side's mute and
//! camera-off show, and the toggles carry aria-pressed; a refused autoplay
//! offers "Tap to play"; tapping the small picture swaps the two; answering
//! with the camera refused offers one clear set of other ways to answer. Inside a private network
//! namespace, as every browser test here. With `LANRTC_SCREENSHOTS=<dir>`,
//! each size is saved as a PNG to look at.

mod common;
mod e2e;
mod netns;

use std::time::Duration;

use e2e::Browser;

#[test]
fn a_call_fits_every_phone_screen() {
    e2e::run_outer(
        "the phone layout test",
        "phone",
        "phone_inside_namespace",
        Duration::from_secs(150),
    );
}

#[test]
#[ignore = "run by a_call_fits_every_phone_screen inside its network namespace"]
fn phone_inside_namespace() {
    e2e::run_inner(scenario);
}

// The longest names allowed: one without a space (the worst case for
// wrapping) and one of words.
const ALICE: &str = "AlexandraKatharinaMontgomeryWellingtonOfTheLowerValleyFarmhouse1";
const BOB: &str = "Bartholomew Fitzgerald the Third of the Northern Kingdom Valleys";

/// Everything that would make a person scroll or miss a control.
const FITS: &str = "(() => { const w = innerWidth, h = innerHeight; \
    const page = document.documentElement.scrollWidth <= w; \
    const controls = [...document.querySelectorAll('#call .controls button')].filter(b => !b.hidden); \
    const inside = controls.length >= 2 && controls.every(b => { const r = b.getBoundingClientRect(); \
        return r.top >= 0 && r.left >= 0 && r.bottom <= h && r.right <= w && r.width > 0; }); \
    const v = document.getElementById('remote-video').getBoundingClientRect(); \
    const picture = v.height >= 120 && v.bottom <= h + 1; \
    return JSON.stringify({w, h, page, inside, picture, n: controls.length}); })()";

/// Makes the page's viewport `w`×`h`: the window is that plus whatever the
/// browser's own frame takes.
async fn viewport(b: &Browser, w: u32, h: u32) {
    b.client.set_window_size(w, h).await.unwrap();
    let inner = b.js("return [innerWidth, innerHeight];").await;
    let dw = w - inner[0].as_u64().unwrap() as u32;
    let dh = h - inner[1].as_u64().unwrap() as u32;
    if dw > 0 || dh > 0 {
        b.client.set_window_size(w + dw, h + dh).await.unwrap();
    }
}

async fn scenario() {
    assert_eq!(ALICE.chars().count(), 64);
    assert_eq!(BOB.chars().count(), 64);
    let root = tempfile::tempdir().unwrap();
    let (url, ca, stop, server) = e2e::serve_app(root.path()).await;
    let (alice, bob) = tokio::join!(
        Browser::launch("alice", root.path(), &ca),
        Browser::launch("bob", root.path(), &ca)
    );
    for b in [&alice, &bob] {
        b.client.goto(&url).await.unwrap();
        viewport(b, 360, 640).await;
    }
    alice.fill("Your name", ALICE).await;
    bob.fill("Your name", BOB).await;
    alice
        .wait_for(
            "Bob listed without widening the page",
            &format!(
                "[...document.querySelectorAll('#peers .peer-name')].some(e => e.textContent === {}) \
                 && document.documentElement.scrollWidth <= innerWidth",
                serde_json::to_string(BOB).unwrap()
            ),
        )
        .await;
    bob.wait_for(
        "Alice listed without widening the page",
        "document.querySelectorAll('#peers .peer').length === 1 && document.documentElement.scrollWidth <= innerWidth",
    )
    .await;

    // Bob's browser refuses to autoplay (as iOS Safari can): he must get a
    // button, not a frozen frame.
    bob.js(
        "window.__play = HTMLMediaElement.prototype.play; \
         HTMLMediaElement.prototype.play = function () { return Promise.reject(new DOMException('refused', 'NotAllowedError')); }; \
         return true;",
    )
    .await;
    alice.press(&format!("Call {BOB}")).await;
    bob.press("Accept").await;
    for b in [&alice, &bob] {
        b.wait_call_state("in-call").await;
        b.wait_for(
            "the screen kept awake during the call",
            "window.lanrtc.wakeLock === true",
        )
        .await;
        b.wait_for(
            "the connection said in words",
            "document.getElementById('connection-state').textContent === 'Connected'",
        )
        .await;
    }
    bob.wait_for(
        "Tap to play",
        "(() => { const b = document.getElementById('remote-play'); return !b.hidden && b.offsetParent !== null; })()",
    )
    .await;
    bob.js("HTMLMediaElement.prototype.play = window.__play; return true;")
        .await;
    bob.press("Tap to play").await;
    bob.wait_for(
        "the picture playing after the tap",
        "document.getElementById('remote-play').hidden && !document.getElementById('remote-video').paused",
    )
    .await;

    // Tapping the small picture swaps the two; tapping it again swaps back.
    let sizes = "(() => { const r = document.getElementById('remote-video').getBoundingClientRect(); \
        const l = document.getElementById('local-video').getBoundingClientRect(); return r.width > l.width ? 'remote-big' : 'local-big'; })()";
    assert_eq!(alice.js(&format!("return {sizes};")).await, "remote-big");
    alice.click_id("local-video").await;
    alice
        .wait_for("the swap", &format!("{sizes} === 'local-big'"))
        .await;
    alice.click_id("remote-video").await;
    alice
        .wait_for("the swap back", &format!("{sizes} === 'remote-big'"))
        .await;
    assert_eq!(
        alice
            .js("return !document.getElementById('remote-fullscreen').hidden;")
            .await,
        true,
        "Fullscreen is offered where the browser has it"
    );

    // The other side's microphone and camera show: a mark, and the name
    // instead of a black picture. The toggles keep their label and say
    // they are pressed.
    alice.press("Mute").await;
    alice.press("Camera off").await;
    alice
        .wait_for(
            "pressed toggles",
            "['mute-button', 'camera-button'].every(id => { const b = document.getElementById(id); \
             return b.getAttribute('aria-pressed') === 'true'; }) && document.getElementById('mute-button').textContent === 'Mute'",
        )
        .await;
    bob.wait_for(
        "Alice shown muted, with her name instead of her camera",
        &format!(
            "!document.getElementById('remote-muted').hidden && !document.getElementById('remote-off').hidden \
             && document.getElementById('remote-off-text').textContent === {}",
            serde_json::to_string(&format!("{ALICE}: camera off")).unwrap()
        ),
    )
    .await;
    if let Some(dir) = std::env::var_os("LANRTC_SCREENSHOTS") {
        let png = bob.client.screenshot().await.unwrap();
        std::fs::write(
            std::path::Path::new(&dir).join("bob-sees-alice-off.png"),
            png,
        )
        .unwrap();
    }
    alice.press("Mute").await;
    alice.press("Camera off").await;
    bob.wait_for(
        "Alice back on",
        "document.getElementById('remote-muted').hidden && document.getElementById('remote-off').hidden",
    )
    .await;
    bob.js("document.getElementById('chat-input').focus(); return true;")
        .await;

    let shots = std::env::var_os("LANRTC_SCREENSHOTS").map(std::path::PathBuf::from);
    for (w, h) in [(360, 640), (390, 844), (844, 390)] {
        for b in [&alice, &bob] {
            viewport(b, w, h).await;
            if let Some(dir) = &shots {
                let png = b.client.screenshot().await.unwrap();
                std::fs::create_dir_all(dir).unwrap();
                std::fs::write(dir.join(format!("{}-{w}x{h}.png", b.name)), png).unwrap();
            }
            b.wait_for(
                &format!("the call to fit {w}x{h}"),
                &format!(
                    "(() => {{ const f = JSON.parse({FITS}); return f.w === {w} && f.h === {h} && f.page && f.inside && f.picture; }})()"
                ),
            )
            .await;
        }
    }

    alice.press("Hang up").await;
    alice
        .wait_for(
            "the screen allowed to sleep again",
            "window.lanrtc.wakeLock === false",
        )
        .await;

    // Answering with the camera refused: the dialog says why and offers the
    // other ways to answer, with their own verbs, in place of Accept.
    bob.wait_call_state("idle").await;
    bob.js(
        "const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices); \
         navigator.mediaDevices.getUserMedia = (c) => c && c.video \
           ? Promise.reject(new DOMException('refused', 'NotAllowedError')) : real(c); return true;",
    )
    .await;
    alice.press(&format!("Call {BOB}")).await;
    bob.press("Accept").await;
    bob.wait_for(
        "one clear set of choices",
        "(() => { const d = document.getElementById('incoming'); \
           const shown = [...d.querySelectorAll('button')].filter(b => !b.hidden && b.offsetParent !== null).map(b => b.textContent); \
           return !d.hidden && document.getElementById('incoming-detail').textContent.includes('or answer without camera or receive-only') \
             && JSON.stringify(shown) === JSON.stringify(['Answer without camera', 'Answer receive-only', 'Decline']) \
             && document.getElementById('status-actions').hidden; })()",
    )
    .await;
    bob.press("Answer without camera").await;
    for b in [&alice, &bob] {
        b.wait_call_state("in-call").await;
    }
    bob.press("Hang up").await;

    alice.quit().await;
    bob.quit().await;
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
}
