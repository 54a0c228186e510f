//! The address offered to other devices: on a machine with a Docker bridge
//! and a Wi-Fi interface that carries the default route, the banner's first
//! URL, its QR code and the share link a page is given (in `ready`, also
//! for a page opened at `localhost`) all use the Wi-Fi address; the bridge
//! is named as not offered; and a Chromium that opens the app at
//! `localhost` shows the Wi-Fi address as the link and QR code to share.
//! Checked inside a private network namespace whose interfaces the test
//! names `docker0` and `wlan0`.

mod common;
mod e2e;
mod netns;

use std::process::Command;
use std::time::Duration;

use netns::{run, Netns, INNER_ENV};

// Numerically first, so an order by address would pick it.
const BRIDGE: &str = "10.99.6.1";
const WIFI: &str = "10.99.9.1";
const GATEWAY: &str = "10.99.9.2";

#[test]
fn the_default_routes_interface_is_offered_and_bridges_are_not() {
    if let Err(why) = e2e::prerequisites() {
        netns::skip_or_fail("the offered-address test", &why);
        return;
    }
    let ns = Netns::create("addr");
    let n = ns.name.as_str();
    for (dev, peer, addr) in [("docker0", "dockpeer", BRIDGE), ("wlan0", "wlanpeer", WIFI)] {
        run(Command::new("ip").args([
            "-n", n, "link", "add", dev, "type", "veth", "peer", "name", peer,
        ]));
        run(Command::new("ip").args(["-n", n, "addr", "add", &format!("{addr}/24"), "dev", dev]));
        for d in [dev, peer] {
            run(Command::new("ip").args(["-n", n, "link", "set", d, "up"]));
        }
    }
    run(Command::new("ip").args([
        "-n", n, "route", "add", "default", "via", GATEWAY, "dev", "wlan0",
    ]));
    let passed = ns.run_test("offered_inside_namespace", Duration::from_secs(60));
    drop(ns);
    assert!(
        passed,
        "the offered-address test failed (its output is above)"
    );
}

#[test]
#[ignore = "run by the_default_routes_interface_is_offered_and_bridges_are_not inside its namespace"]
fn offered_inside_namespace() {
    if std::env::var_os(INNER_ENV).is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut settings = common::settings(tmp.path());
    settings.bind = Some("0.0.0.0".into());
    let config = lanrtc::Config::load(&settings).unwrap();
    let any = "0.0.0.0:8443".parse().unwrap();
    let wifi_url = format!("https://{WIFI}:8443/");

    // First the plain-HTTP landing that checks trust, then the app itself.
    let landing = format!("http://{WIFI}:8443/");
    let urls = lanrtc::banner::urls(&config, any);
    assert_eq!(urls[..2], [landing.clone(), wifi_url.clone()], "{urls:?}");
    assert!(
        !urls.iter().any(|u| u.contains(BRIDGE)),
        "the bridge is not offered: {urls:?}"
    );
    assert_eq!(lanrtc::banner::qr_url(&config, any), Some(landing));
    let text = lanrtc::banner::render(&config, any);
    assert!(
        text.contains(&format!("  {wifi_url}   (wlan0)\n")),
        "the interface is named:\n{text}"
    );
    assert!(
        text.contains(&format!("Not offered, on virtual interfaces other devices usually cannot reach: {BRIDGE} (docker0)")),
        "{text}"
    );
    // Both are still in the certificate: a device on the bridge (a container)
    // can still use its address.
    let names = lanrtc::certs::server_names(&config.host_name);
    assert!(
        names.contains(&BRIDGE.to_string()) && names.contains(&WIFI.to_string()),
        "{names:?}"
    );

    tokio::runtime::Runtime::new().unwrap().block_on(async {
        // The page is opened at localhost; its share link must not be.
        let server = common::TestServer::start_settings(settings, |_| {}).await;
        let ws = server.ws("/rtc", &[]).await.expect("upgrade");
        let mut ws = ws;
        let ready = ws.recv().await;
        assert_eq!(ready["type"], "ready");
        assert_eq!(
            ready["lan"],
            format!("https://{WIFI}:{}", server.port()),
            "{ready}"
        );
        // No access key and the generated authority: pages share the
        // plain-HTTP landing, which leads a new device through trusting.
        assert_eq!(
            ready["landing"],
            format!("http://{WIFI}:{}", server.port()),
            "{ready}"
        );

        // What a person sees on the server's own laptop: the page at
        // localhost offers the Wi-Fi address (its landing) to the other
        // devices.
        let page = e2e::Browser::launch("laptop", tmp.path(), &tmp.path().join("ca.pem")).await;
        page.client
            .goto(&format!("https://localhost:{}/", server.port()))
            .await
            .unwrap();
        let share = serde_json::to_string(&format!("http://{WIFI}:{}/", server.port())).unwrap();
        page.wait_for(
            "the Wi-Fi address as the link and QR code to share",
            &format!(
                "document.getElementById('join-url').textContent === {share} \
                 && document.getElementById('join-qr').src.includes(encodeURIComponent({share})) \
                 && document.getElementById('join-qr').naturalWidth > 0"
            ),
        )
        .await;
        page.quit().await;
    });
}
