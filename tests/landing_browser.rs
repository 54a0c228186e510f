//! The first contact, in two real browsers: the banner's first URL (plain
//! HTTP, the access key in its fragment) takes a browser that trusts the
//! authority straight into the app, key and all; a browser that does not
//! (a phone on its first visit) stays on the trust steps for its own
//! platform, and "Done, open the app" tells it that it is not there yet.
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

const KEY: &str = "landing-key-1234";

async fn scenario() {
    let root = tempfile::tempdir().unwrap();
    let certs = root.path().join("certs");
    let mut settings = common::settings(&certs);
    settings.bind = Some(SERVER_ADDR.into());
    settings.access_key = Some(KEY.into());
    let config = lanrtc::Config::load(&settings).unwrap();
    let listener = tokio::net::TcpListener::bind((SERVER_ADDR, 0))
        .await
        .unwrap();
    let local = listener.local_addr().unwrap();
    // What a person scans: the banner's QR code.
    let first = lanrtc::banner::qr_url(&config, local).expect("a QR code");
    assert_eq!(first, format!("http://{local}/#key={KEY}"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(lanrtc::run(config, listener, async {
        let _ = stopped.await;
    }));

    let ca = certs.join("ca.pem");
    let (trusting, phone) = tokio::join!(
        Browser::launch_trusting("trusting", root.path(), Some(&ca)),
        Browser::launch_trusting("first-visit", root.path(), None)
    );

    // Trusted: straight into the app over https, the key taken in (and
    // gone from the address bar, as with any link that carries it).
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
    assert_eq!(app_link, format!("https://{local}/?key={KEY}"));
    phone
        .client
        .find(fantoccini::Locator::Id("done"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    phone
        .wait_for(
            "the not-yet answer",
            "document.getElementById('status').textContent.includes('does not trust the server yet')",
        )
        .await;

    trusting.quit().await;
    phone.quit().await;
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
}
