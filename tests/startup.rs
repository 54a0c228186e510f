//! Start-up: configuration errors, the banner, signals, bind addresses, and
//! shutdown behaviour of the real binary and of `run`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{settings, TestServer, WAIT};
use lanrtc::Config;
use tokio::io::AsyncReadExt;

/// Every setting the binary reads from the environment.
const VARIABLES: [&str; 22] = [
    "HOST",
    "PORT",
    "BIND",
    "KEY",
    "CERT",
    "CERTS_DIR",
    "PUBLIC_DIR",
    "ICE_SERVERS",
    "ICE_USERNAME",
    "ICE_CREDENTIAL",
    "RATE_LIMIT",
    "MAX_PEERS",
    "MDNS",
    "MDNS_INTERFACES",
    "ACCESS_KEY",
    "MEDIA",
    "MEDIA_PORT",
    "MAX_VIEWERS",
    "MAX_CONNECTIONS_PER_ADDRESS",
    "MAX_HANDSHAKES_PER_ADDRESS",
    "MAX_PEERS_PER_ADDRESS",
    "RUST_LOG",
];

fn lanrtc() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lanrtc"));
    // Start from a clean slate: the developer's own settings must not leak in.
    for var in VARIABLES {
        cmd.env_remove(var);
    }
    // systemd's, when the tests run under a unit that has one.
    cmd.env_remove("STATE_DIRECTORY");
    // Never announce on this machine's real interfaces.
    cmd.env("MDNS", "off");
    cmd
}

#[test]
fn bad_values_stop_the_program_with_one_clear_sentence() {
    let tmp = tempfile::tempdir().unwrap();
    for (var, value, needle) in [
        ("PORT", "abc", "PORT is \"abc\", which is not a port number"),
        ("PORT", "70000", "PORT is \"70000\""),
        (
            "BIND",
            "localhost:80",
            "BIND is \"localhost:80\", which is not an IP address",
        ),
        ("HOST", "my box", "HOST is \"my box\""),
        (
            "CERT",
            "/nonexistent.pem",
            "CERT is set (/nonexistent.pem) but KEY is not",
        ),
        ("MAX_PEERS", "lots", "MAX_PEERS is \"lots\""),
        ("RATE_LIMIT", "-1", "RATE_LIMIT is \"-1\""),
        (
            "RATE_LIMIT",
            "900000000",
            "RATE_LIMIT is \"900000000\", more than",
        ),
        (
            "ICE_SERVERS",
            "turn:10.0.0.1:3478",
            "ICE_USERNAME and ICE_CREDENTIAL are not set",
        ),
        (
            "ICE_USERNAME",
            "me",
            "only one of ICE_USERNAME and ICE_CREDENTIAL",
        ),
        ("HOST", "1234", "not only digits"),
        (
            "MDNS",
            "maybe",
            "MDNS is \"maybe\", which is neither on nor off",
        ),
        (
            "ICE_SERVERS",
            "https://x",
            "ICE_SERVERS contains \"https://x\"",
        ),
        ("ACCESS_KEY", "abc", "ACCESS_KEY is 3 characters long"),
        (
            "MEDIA",
            "maybe",
            "MEDIA is \"maybe\", which is neither on nor off",
        ),
        (
            "MEDIA_PORT",
            "udp",
            "MEDIA_PORT is \"udp\", which is not a port number",
        ),
        (
            "MAX_VIEWERS",
            "0",
            "MAX_VIEWERS is \"0\"; use a number from 1",
        ),
        ("MAX_VIEWERS", "many", "MAX_VIEWERS is \"many\""),
        (
            "MAX_PEERS_PER_ADDRESS",
            "-3",
            "MAX_PEERS_PER_ADDRESS is \"-3\"",
        ),
        (
            "ACCESS_KEY",
            "with spaces in it",
            "ACCESS_KEY may contain only letters",
        ),
        (
            "PUBLIC_DIR",
            "/nonexistent-dir",
            "PUBLIC_DIR is /nonexistent-dir but that is not a directory",
        ),
    ] {
        let out = lanrtc()
            .env(var, value)
            .env("CERTS_DIR", tmp.path())
            .env("BIND", if var == "BIND" { value } else { "127.0.0.1" })
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}={value}: {stderr}");
        assert!(stderr.contains(needle), "{var}={value}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("backtrace"),
            "{stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    }
}

#[test]
fn flags_mirror_the_variables() {
    let out = lanrtc().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for var in VARIABLES {
        assert!(
            help.contains(&format!("[env: {var}=")),
            "--help does not mention {var}:\n{help}"
        );
    }
    for default in ["8443", "0.0.0.0", "certs"] {
        assert!(
            help.contains(default),
            "--help does not show the default {default}"
        );
    }
    let out = lanrtc().args(["--port", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PORT is \"nope\""));
}

#[test]
fn lanrtc_prefixed_variables_win_and_the_banner_names_them() {
    let tmp = tempfile::tempdir().unwrap();
    // A shell's own HOST and a dev tool's PORT: the prefixed ones win.
    let mut child = Running(
        lanrtc()
            .env("BIND", "127.0.0.1")
            .env("HOST", "not a host name")
            .env("LANRTC_HOST", "kitchen")
            .env("PORT", "nope")
            .env("LANRTC_PORT", "0")
            .env("CERTS_DIR", tmp.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let banner = read_banner(&mut child);
    // It started at all: the bare HOST and PORT would each have stopped it.
    assert!(banner.contains("is ready"), "{banner}");
    let line = banner
        .lines()
        .find(|l| l.starts_with("Settings from the environment: "))
        .unwrap_or_else(|| panic!("no settings line:\n{banner}"));
    for part in [
        "HOST (LANRTC_HOST)",
        "PORT (LANRTC_PORT)",
        "BIND",
        "MDNS",
        "CERTS_DIR",
    ] {
        assert!(line.contains(part), "{part} missing: {line}");
    }
}

#[test]
fn a_port_in_use_is_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = lanrtc()
        .env("BIND", "127.0.0.1")
        .env("PORT", &port)
        .env("CERTS_DIR", tmp.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("already in use") && stderr.contains("set PORT"),
        "{stderr}"
    );
}

#[test]
fn a_media_port_in_use_is_explained() {
    let tmp = tempfile::tempdir().unwrap();
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = lanrtc()
        .env("BIND", "127.0.0.1")
        .env("PORT", "0")
        .env("MEDIA_PORT", &port)
        .env("CERTS_DIR", tmp.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("UDP port {port}"))
            && stderr.contains("set MEDIA_PORT")
            && stderr.contains("MEDIA=off"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn banner_lists_urls_and_fingerprint_and_sigterm_exits_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Running(
        lanrtc()
            .env("BIND", "127.0.0.1")
            .env("PORT", "0")
            .env("CERTS_DIR", tmp.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut banner = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if line.contains("Ctrl-C") {
            break;
        }
    }
    let port = banner
        .split("https://localhost:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or_else(|| panic!("no localhost URL in the banner:\n{banner}"));
    assert_ne!(port, 0, "the banner must print the real port");
    let ca = std::fs::read(tmp.path().join("ca.pem")).unwrap();
    let ca = {
        use tokio_rustls::rustls::pki_types::{pem::PemObject, CertificateDer};
        CertificateDer::from_pem_slice(&ca).unwrap()
    };
    assert!(
        banner.contains(&lanrtc::certs::fingerprint(&ca)),
        "fingerprint missing:\n{banner}"
    );
    assert!(
        banner.contains(&tmp.path().join("ca.pem").display().to_string()),
        "{banner}"
    );
    assert!(
        banner.contains(&format!("http://localhost:{port}/trust")),
        "{banner}"
    );
    assert!(banner.contains("mDNS: off"), "{banner}");
    assert!(
        banner.contains(&format!("Media server: UDP port {port}, up to 200 viewers"))
            && banner.contains("/whip/<room>"),
        "{banner}"
    );
    // Not a terminal: no QR code blocks.
    assert!(!banner.contains('█') && !banner.contains('▀'), "{banner}");

    // The server is really there.
    std::net::TcpStream::connect(("127.0.0.1", port)).expect("listening");
    unsafe_kill(child.id(), "TERM");
    let status = wait_timeout(&mut child, Duration::from_secs(10)).expect("exits after SIGTERM");
    assert_eq!(status.code(), Some(0));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "still listening after exit"
    );
}

#[test]
fn under_systemd_the_certificates_live_in_the_state_directory() {
    let state = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let own = state.path().join("lanrtc");
    let other = state.path().join("other");
    let list = std::env::join_paths([&own, &other]).unwrap();
    let mut child = Running(
        lanrtc()
            .current_dir(cwd.path())
            .env("BIND", "127.0.0.1")
            .env("PORT", "0")
            .env("STATE_DIRECTORY", &list)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let banner = read_banner(&mut child);
    assert!(banner.contains("is ready"), "{banner}");
    assert!(
        own.join("certs/ca.pem").is_file() && own.join("certs/cert.pem").is_file(),
        "the authority goes to the unit's own state directory"
    );
    assert!(
        !cwd.path().join("certs").exists(),
        "nothing is written to the current directory"
    );
    assert!(!other.exists(), "only the first state directory is used");
    assert!(
        banner.contains(&own.join("certs").display().to_string()),
        "{banner}"
    );
}

/// A started server that is killed when the test ends, also when it fails
/// half-way: a failed assertion must not leave a server running.
struct Running(std::process::Child);

impl std::ops::Deref for Running {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn unsafe_kill(pid: u32, signal: &str) {
    Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
}

fn wait_timeout(
    child: &mut std::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    None
}

#[test]
fn mdns_settings_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = settings(tmp.path());
    s.mdns = Some("on".into());
    s.mdns_interfaces = Some("lo, nosuch0".into());
    let err = format!(
        "{:#}",
        Config::load(&s).err().expect("unknown interface refused")
    );
    assert!(
        err.contains("MDNS_INTERFACES names \"nosuch0\"") && err.contains("lo"),
        "{err}"
    );
    s.mdns_interfaces = Some("lo".into());
    assert_eq!(Config::load(&s).unwrap().mdns, Some(vec!["lo".to_string()]));
    s.mdns = None;
    s.no_mdns = true;
    assert_eq!(Config::load(&s).unwrap().mdns, None, "--no-mdns wins");
}

#[test]
fn banner_urls_cover_lan_dot_local_and_localhost() {
    let tmp = tempfile::tempdir().unwrap();
    let config = Config::load(&settings(tmp.path())).unwrap();
    let any = lanrtc::banner::urls(&config, "0.0.0.0:8443".parse().unwrap());
    assert!(
        !any.iter().any(|u| u.contains(".local")),
        "with mDNS off nobody answers for HOST.local: {any:?}"
    );
    assert_eq!(any.last().unwrap(), "https://localhost:8443/");
    for ip in lanrtc::net::lan_addresses()
        .into_iter()
        .filter(|ip| ip.is_ipv4())
    {
        assert!(
            any.contains(&format!("https://{ip}:8443/")),
            "{ip} missing from {any:?}"
        );
    }
    let mut announcing = config.clone();
    announcing.mdns = Some(Vec::new());
    let announced = lanrtc::banner::urls(&announcing, "0.0.0.0:8443".parse().unwrap());
    assert!(
        announced.contains(&"https://testhost.local:8443/".to_string()),
        "{announced:?}"
    );
    let text = lanrtc::banner::render(&announcing, "0.0.0.0:8443".parse().unwrap());
    assert!(
        text.contains("mDNS: announcing https://testhost.local:8443/ as \"lanrtc on testhost\""),
        "{text}"
    );
    assert!(lanrtc::banner::render(&config, "0.0.0.0:8443".parse().unwrap()).contains("mDNS: off"));
    assert!(
        lanrtc::banner::render(&config, "0.0.0.0:8443".parse().unwrap())
            .contains("Access: open: anyone on this network can join")
    );
    let lo = lanrtc::banner::urls(&config, "127.0.0.1:9000".parse().unwrap());
    assert_eq!(lo, vec!["https://localhost:9000/".to_string()]);

    // With an access key every printed URL (and so the QR code) carries it;
    // the trust address does not need it.
    let mut keyed = config.clone();
    keyed.access = lanrtc::access::AccessKey::parse("abcdefgh").unwrap();
    let local = "127.0.0.1:9000".parse().unwrap();
    assert_eq!(
        lanrtc::banner::urls(&keyed, local),
        vec!["https://localhost:9000/?key=abcdefgh".to_string()]
    );
    let text = lanrtc::banner::render(&keyed, local);
    assert!(
        text.contains("Access: only devices given a link above"),
        "{text}"
    );
    assert!(text.contains("http://localhost:9000/trust\n"), "{text}");
    let any = "0.0.0.0:8443".parse().unwrap();
    if let Some(url) = lanrtc::banner::qr_url(&keyed, any) {
        // The key never goes into a plain-HTTP link: the QR code is https.
        assert!(
            url.starts_with("https://") && url.ends_with("/?key=abcdefgh"),
            "{url}"
        );
    }
    assert!(
        !lanrtc::banner::urls(&keyed, any)
            .iter()
            .any(|u| u.starts_with("http://") && u.contains("abcdefgh")),
        "no plain link carries the key"
    );
    if let Some(url) = lanrtc::banner::qr_url(&config, any) {
        assert!(
            url.starts_with("http://"),
            "without a key, the QR code is the landing: {url}"
        );
    }
    let qr = lanrtc::banner::qr("https://10.0.0.2:8443/").unwrap();
    assert!(qr.lines().count() > 10);
}

#[tokio::test]
async fn binds_ipv6_and_any() {
    let tmp = tempfile::tempdir().unwrap();
    for bind in ["::", "::1", "0.0.0.0", "[::1]"] {
        let mut s = settings(tmp.path());
        s.bind = Some(bind.into());
        let config = Config::load(&s).unwrap_or_else(|e| panic!("{bind}: {e:#}"));
        assert_eq!(config.bind.port(), 0);
    }
    // Serving over IPv6 loopback, where the machine has it.
    let Ok(listener) = tokio::net::TcpListener::bind("[::1]:0").await else {
        eprintln!("skipping the IPv6 serve check: this machine has no ::1");
        return;
    };
    let addr = listener.local_addr().unwrap();
    let config = Config::load(&settings(tmp.path())).unwrap();
    let ca = config.tls.authority.as_ref().unwrap().der.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(lanrtc::run(config, listener, async {
        let _ = rx.await;
    }));
    let tls = common::tls_connect(addr, common::client_config(&ca), "::1")
        .await
        .expect("IPv6 TLS");
    let r = common::send_request(hyper_util::rt::TokioIo::new(tls), "GET", "/", "[::1]", &[]).await;
    assert_eq!(r.status, 200);
    tx.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_silent_connection_is_dropped_after_the_handshake_timeout() {
    let server =
        TestServer::start_with(|c| c.limits.handshake_timeout = Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(WAIT, tcp.read(&mut buf))
        .await
        .expect("server closed the silent socket");
    assert_eq!(n.unwrap_or(0), 0);
    assert!(started.elapsed() >= Duration::from_millis(250));
    // Others are still served meanwhile and afterwards.
    assert_eq!(server.get("/").await.status, 200);
}

#[tokio::test]
async fn shutdown_finishes_and_stops_listening() {
    let mut server = TestServer::start().await;
    // An idle keep-alive connection must not hold shutdown up.
    let idle = server.tls("localhost").await;
    assert_eq!(server.get("/").await.status, 200);
    let started = std::time::Instant::now();
    server.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        started.elapsed()
    );
    assert!(tokio::net::TcpStream::connect(server.addr).await.is_err());
    drop(idle);
}

#[tokio::test]
async fn a_request_in_flight_at_shutdown_is_answered() {
    use tokio::io::AsyncWriteExt;
    let mut server = TestServer::start().await;
    let mut tls = server.tls("localhost").await;
    // Half a request: the server is reading it when shutdown begins.
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    tls.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stopping = tokio::spawn(async move {
        server.stop().await;
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    tls.write_all(b"Connection: close\r\n\r\n").await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(WAIT, tls.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.starts_with("HTTP/1.1 200"),
        "in-flight request was cut off: {text:?}"
    );
    stopping.await.unwrap();
}

/// Reads the banner of a started binary and returns its port.
/// The banner a started server printed, up to its last line.
fn read_banner(child: &mut std::process::Child) -> String {
    let mut banner = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if line.contains("Ctrl-C") {
            break;
        }
    }
    banner
}

fn banner_port(child: &mut std::process::Child) -> u16 {
    read_banner(child)
        .split("https://localhost:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("the banner names the port")
}

#[tokio::test]
async fn running_out_of_file_descriptors_is_survived() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("stderr.log");
    // A hard limit of 64 open files leaves room for a few dozen connections.
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("ulimit -n 64 && exec \"$0\"")
        .arg(env!("CARGO_BIN_EXE_lanrtc"));
    for var in VARIABLES {
        cmd.env_remove(var);
    }
    let mut child = Running(
        cmd.env("MDNS", "off")
            .env("BIND", "127.0.0.1")
            .env("PORT", "0")
            .env("CERTS_DIR", tmp.path().join("certs"))
            .env("RUST_LOG", "warn")
            // This host must be able to exhaust the files; no share limits.
            .env("MAX_CONNECTIONS_PER_ADDRESS", "0")
            .env("MAX_HANDSHAKES_PER_ADDRESS", "0")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let port = banner_port(&mut child);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));

    // More silent connections than the server may have files.
    let mut hogs = Vec::new();
    for _ in 0..100 {
        hogs.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    let deadline = std::time::Instant::now() + WAIT;
    while !std::fs::read_to_string(&log)
        .unwrap()
        .contains("accept failed; retrying")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the server never hit its file limit"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(hogs);

    // Once they are gone the server is fully back.
    let ca = {
        use tokio_rustls::rustls::pki_types::{pem::PemObject, CertificateDer};
        CertificateDer::from_pem_file(tmp.path().join("certs/ca.pem")).unwrap()
    };
    let mut served = false;
    for _ in 0..50 {
        if let Ok(tls) = common::tls_connect(addr, common::client_config(&ca), "localhost").await {
            let reply = common::send_request(
                hyper_util::rt::TokioIo::new(tls),
                "GET",
                "/",
                "localhost",
                &[],
            )
            .await;
            served = reply.status == 200;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        served,
        "the server did not recover after the descriptors were freed"
    );
    assert!(child.try_wait().unwrap().is_none(), "the server exited");
    let _ = child.kill();
    let _ = child.wait();
}
