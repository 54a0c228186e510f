//! mDNS: the server announces `HOST.local` and an `_https._tcp` service with
//! the right port and TXT records; another host on the LAN discovers it,
//! opens the app at the discovered address with full certificate checks,
//! and sees the service leave when the server shuts down.
//!
//! mdns-sd joins multicast groups on every interface as soon as it starts, so
//! this never runs on the host: it makes two network namespaces joined by a
//! veth pair and runs the announcing server in one and the browser in the
//! other (see tests/netns/).

mod common;
mod netns;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mdns_sd::{ServiceDaemon, ServiceEvent};
use netns::{Netns, INNER_ENV};

const SERVER_ADDR: &str = "10.99.0.1";
const BROWSER_ADDR: &str = "10.99.0.2";
const DIR_ENV: &str = "LANRTC_MDNS_DIR";
const HOST: &str = "mdnshost";

#[test]
fn the_service_is_discovered_from_another_host_and_leaves_on_shutdown() {
    if let Err(why) = netns::prerequisites() {
        netns::skip_or_fail("the mDNS test", &why);
        return;
    }
    let server_ns = Netns::create("mdns-a");
    let browser_ns = Netns::create("mdns-b");
    server_ns.veth_to(&browser_ns, SERVER_ADDR, BROWSER_ADDR);
    let dir = tempfile::tempdir().unwrap();
    let dir_str = dir.path().to_str().unwrap();
    let server = server_ns.spawn_test("announcer_inside_namespace", &[(DIR_ENV, dir_str)]);
    let browser = browser_ns.spawn_test("browser_inside_namespace", &[(DIR_ENV, dir_str)]);
    let browsed = netns::wait_child(browser, Duration::from_secs(60));
    // The browser's last step asks the server to stop.
    std::fs::write(dir.path().join("stop"), "").unwrap();
    let served = netns::wait_child(server, Duration::from_secs(20));
    assert!(browsed, "the browsing side failed (its output is above)");
    assert!(served, "the announcing side failed (its output is above)");
}

fn shared_dir() -> Option<PathBuf> {
    std::env::var_os(INNER_ENV)?;
    std::env::var_os(DIR_ENV).map(PathBuf::from)
}

fn wait_for_file(path: &Path, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while !path.exists() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

#[test]
#[ignore = "run inside a namespace by the_service_is_discovered_from_another_host_and_leaves_on_shutdown"]
fn announcer_inside_namespace() {
    let Some(dir) = shared_dir() else { return };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let mut settings = common::settings(&dir.join("certs"));
        settings.host = Some(HOST.into());
        settings.bind = Some("0.0.0.0".into());
        settings.mdns = Some("on".into());
        let config = lanrtc::Config::load(&settings).unwrap();
        let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = dir.join("stop");
        let server = tokio::spawn(lanrtc::run(config, listener, async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !stop.exists() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }));
        std::fs::write(dir.join("port.tmp"), port.to_string()).unwrap();
        std::fs::rename(dir.join("port.tmp"), dir.join("port")).unwrap();
        server.await.unwrap().unwrap();
    });
}

#[test]
#[ignore = "run inside a namespace by the_service_is_discovered_from_another_host_and_leaves_on_shutdown"]
fn browser_inside_namespace() {
    let Some(dir) = shared_dir() else { return };
    assert!(
        wait_for_file(&dir.join("port"), Duration::from_secs(20)),
        "the server never started"
    );
    let port: u16 = std::fs::read_to_string(dir.join("port"))
        .unwrap()
        .parse()
        .unwrap();

    let daemon = ServiceDaemon::new().unwrap();
    let events = daemon.browse(lanrtc::mdns::SERVICE_TYPE).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let service = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(ServiceEvent::ServiceResolved(info))
                if info.get_fullname().starts_with("lanrtc on mdnshost.") =>
            {
                break info
            }
            Ok(_) => continue,
            Err(e) => panic!("the service was not discovered: {e}"),
        }
    };
    assert_eq!(service.get_port(), port);
    assert_eq!(service.get_hostname(), "mdnshost.local.");
    assert_eq!(service.get_property_val_str("path"), Some("/"));
    assert_eq!(service.get_property_val_str("rtc"), Some("/rtc"));
    assert_eq!(
        service.get_property_val_str("version"),
        Some(env!("CARGO_PKG_VERSION"))
    );
    let addresses = service.get_addresses_v4();
    let server_ip: std::net::Ipv4Addr = SERVER_ADDR.parse().unwrap();
    assert!(addresses.contains(&server_ip), "{addresses:?}");

    // Open the app at the discovered address, checking the certificate
    // against the authority for both the address and HOST.local.
    let ca = {
        use tokio_rustls::rustls::pki_types::{pem::PemObject, CertificateDer};
        CertificateDer::from_pem_file(dir.join("certs/ca.pem")).unwrap()
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let addr = std::net::SocketAddr::from((server_ip, port));
        for name in [SERVER_ADDR, "mdnshost.local"] {
            let tls = common::tls_connect(addr, common::client_config(&ca), name)
                .await
                .expect("TLS");
            let host = format!("{name}:{port}");
            let reply =
                common::send_request(hyper_util::rt::TokioIo::new(tls), "GET", "/", &host, &[])
                    .await;
            assert_eq!(reply.status, 200, "via {name}");
        }
    });

    // Shut the server down; the service must be seen leaving.
    std::fs::write(dir.join("stop"), "").unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match events.recv_timeout(left) {
            Ok(ServiceEvent::ServiceRemoved(_, fullname))
                if fullname.starts_with("lanrtc on mdnshost.") =>
            {
                break
            }
            Ok(_) => continue,
            Err(e) => panic!("the service was never seen leaving: {e}"),
        }
    }
    let _ = daemon.shutdown();
}
