//! The first contact, in two real browsers: the banner's first URL (plain
//! HTTP) takes a browser that trusts the authority straight into the app; a
//! browser that does not
//! (a phone on its first visit) stays on the trust steps for its own
//! platform, and "Done, open the app" tells it that it is not there yet.
//! Then a browser without WebRTC (its RTCPeerConnection deleted before the
//! app loads, as in Debian's WebKitGTK or an in-app web view) is told it
//! cannot make calls and offered no Call button, and calling it ends at
//! once with a sentence instead of ringing into nothing. Last, the app is
//! installable (manifest, icons, a service worker) and its page still opens
//! when the appliance is gone.
//! Inside a private network namespace, as every browser test here.

mod common;
mod e2e;
mod netns;

use std::time::Duration;

use e2e::{Browser, SERVER_ADDR};

#[test]
fn the_first_url_leads_to_trust_or_straight_to_the_app() {
    e2e::run_outer(
        "the landing browser test",
        "landing",
        "landing_inside_namespace",
        Duration::from_secs(120),
    );
}

#[test]
#[ignore = "run by the_first_url_leads_to_trust_or_straight_to_the_app inside its network namespace"]
fn landing_inside_namespace() {
    e2e::run_inner(scenario);
}

async fn scenario() {
    let root = tempfile::tempdir().unwrap();
    let certs = root.path().join("certs");
    // A copy of the app with one hook: at #no-webrtc, a classic script that
    // runs before the app's modules takes WebRTC away (opened in a room, so
    // that going there is a new page load, not a jump within the page).
    let app = root.path().join("public");
    e2e::copy_dir(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/public")),
        &app,
    );
    std::fs::write(
        app.join("no-webrtc.js"),
        "if (location.hash === '#no-webrtc') { delete window.RTCPeerConnection; delete window.webkitRTCPeerConnection; }\n",
    )
    .unwrap();
    let index = std::fs::read_to_string(app.join("index.html")).unwrap();
    let hooked = index.replacen(
        "<head>",
        "<head>\n<script src=\"/no-webrtc.js\"></script>",
        1,
    );
    assert_ne!(index, hooked);
    std::fs::write(app.join("index.html"), hooked).unwrap();
    let mut settings = common::settings(&certs);
    settings.public_dir = Some(app);
    settings.bind = Some(SERVER_ADDR.into());
    let config = lanrtc::Config::load(&settings).unwrap();
    let listener = tokio::net::TcpListener::bind((SERVER_ADDR, 0))
        .await
        .unwrap();
    let local = listener.local_addr().unwrap();
    // What a person scans: the banner's QR code.
    let first = lanrtc::banner::qr_url(&config, local).expect("a QR code");
    assert_eq!(first, format!("http://{local}/"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(lanrtc::run(config, listener, async {
        let _ = stopped.await;
    }));

    let ca = certs.join("ca.pem");
    let (trusting, phone) = tokio::join!(
        Browser::launch_trusting("trusting", root.path(), Some(&ca)),
        Browser::launch_trusting("first-visit", root.path(), None)
    );

    // Trusted: straight into the app over https.
    trusting.client.goto(&first).await.unwrap();
    trusting
        .wait_for(
            "the app over https",
            "location.protocol === 'https:' && document.getElementById('signal-state')?.textContent === 'Connected'",
        )
        .await;
    let here = trusting.client.current_url().await.unwrap();
    assert_eq!(
        here.as_str(),
        format!("https://{local}/"),
        "the key leaves the URL"
    );

    // Not trusted: the steps, this platform's first and open, and an honest
    // answer to "Done".
    phone.client.goto(&first).await.unwrap();
    phone
        .wait_for(
            "the trust steps",
            "(() => { const s = document.getElementById('steps'); const first = document.querySelector('details'); \
             return s && !s.hidden && s.offsetParent !== null && first.id === 'linux' && first.open; })()",
        )
        .await;
    assert_eq!(
        phone.js("return location.protocol;").await,
        "http:",
        "it stays on the landing"
    );
    let app_link = phone
        .js("return document.getElementById('app-link').href;")
        .await;
    assert_eq!(app_link, format!("https://{local}/"));
    phone.click_id("done").await;
    phone
        .wait_for(
            "the not-yet answer",
            "document.getElementById('status').textContent.includes('does not trust the server yet')",
        )
        .await;

    phone.quit().await;

    // No WebRTC: said plainly, nothing offered that cannot work.
    trusting
        .client
        .goto(&format!("https://{local}/r/webview#no-webrtc"))
        .await
        .unwrap();
    trusting
        .wait_for(
            "the cannot-make-calls notice",
            "(() => { const n = document.getElementById('unsupported'); \
             return typeof RTCPeerConnection === 'undefined' && n && !n.hidden && n.textContent.includes('cannot make video calls'); })()",
        )
        .await;
    trusting.fill("Your name", "Webview").await;
    let caller = Browser::launch_trusting("caller", root.path(), Some(&ca)).await;
    caller
        .client
        .goto(&format!("https://{local}/r/webview"))
        .await
        .unwrap();
    caller.fill("Your name", "Caller").await;
    trusting
        .wait_for(
            "Caller listed, with no Call or Watch button and no Go live, but Send files (through the appliance)",
            "(() => { const names = [...document.querySelectorAll('#peers .peer-name')].map(e => e.textContent); \
             const buttons = [...document.querySelectorAll('#peers button.call-button')].filter(b => !b.hidden); \
             const send = document.querySelector('#peers button[aria-label=\"Send files to Caller\"]'); \
             return names.includes('Caller') && buttons.length === 0 && send && !send.disabled && document.getElementById('go-live').hidden; })()",
        )
        .await;
    caller.press("Call Webview").await;
    caller
        .wait_status("Webview's browser cannot take calls.")
        .await;
    assert_eq!(
        trusting
            .js("return document.getElementById('incoming').hidden;")
            .await,
        true,
        "nothing rang"
    );

    // Installable: a manifest whose icons load, and a service worker in
    // control; with the appliance gone, the page still opens (from that
    // worker's copy) and says it is connecting, not a browser error page.
    caller
        .wait_for(
            "the service worker in control",
            "navigator.serviceWorker && navigator.serviceWorker.controller !== null",
        )
        .await;
    caller
        .js("window.__manifest = null; fetch('/manifest.webmanifest').then(r => r.json()).then(async m => { \
             const icons = await Promise.all(m.icons.map(i => fetch(i.src).then(r => r.ok && r.headers.get('content-type') === i.type))); \
             window.__manifest = {name: m.name, start: m.start_url, display: m.display, sizes: m.icons.map(i => i.sizes), icons}; }); return true;")
        .await;
    caller
        .wait_for(
            "a manifest with loadable icons",
            "window.__manifest && window.__manifest.name === 'lanrtc' && window.__manifest.start === '/' \
             && window.__manifest.display === 'standalone' && window.__manifest.sizes.includes('192x192') \
             && window.__manifest.sizes.includes('512x512') && window.__manifest.icons.every(Boolean)",
        )
        .await;
    trusting.quit().await;
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    caller.client.refresh().await.unwrap();
    caller
        .wait_for(
            "the app shell without the appliance",
            "document.title === 'lanrtc' && document.getElementById('signal-state')?.textContent === 'Connecting to the server\u{2026}'",
        )
        .await;
    caller.quit().await;
}
