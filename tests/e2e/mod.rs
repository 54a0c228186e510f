//! The browser end-to-end harness: a private network namespace, a Chromium
//! per person (each with its own HOME, profile and NSS database trusting the
//! generated authority), driven over WebDriver by fantoccini.
//!
//! Why fantoccini over chromedriver: WebDriver is the standard protocol,
//! ChromeDriver ships with Debian's Chromium at the same version, and the
//! crate compiles in a fraction of the time of a CDP client.
//!
//! Network rule: WebRTC needs a non-loopback interface, and nothing may reach
//! the machine's real network. The outer test creates a namespace holding
//! loopback and one veth pair whose both ends live inside it (see
//! tests/netns/), then re-runs this test binary inside it to do the real work.
#![allow(dead_code)] // each browser test uses a different part of the harness

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// The server's (and the page's) address: one end of the veth pair.
pub const SERVER_ADDR: &str = "10.99.1.1";

/// A call's remote video that really plays: frames have a size and time
/// advances (polled: each evaluation records the time).
pub const REMOTE_PLAYING: &str = "(() => { const v = document.getElementById('remote-video'); \
    if (!v || v.videoWidth === 0) return false; \
    const t = v.currentTime; window.__lastT = window.__lastT || []; window.__lastT.push(t); \
    const seen = window.__lastT; return seen.length > 3 && seen[seen.length - 1] > seen[seen.length - 4]; })()";

/// The watched live stream really plays, the same way.
pub const STREAM_PLAYING: &str = "(() => { const v = document.getElementById('watch-video'); \
    if (!v || v.videoWidth === 0) return false; \
    const t = v.currentTime; window.__watchT = window.__watchT || []; window.__watchT.push(t); \
    const seen = window.__watchT; return seen.length > 3 && seen[seen.length - 1] > seen[seen.length - 4]; })()";

/// The other end of the pair, so WebRTC has two host addresses to pair.
pub const PEER_ADDR: &str = "10.99.1.2";

pub use crate::netns::INNER_ENV;
use crate::netns::{kill_group, run, Netns};

/// The outer half of a browser test: makes a private namespace with a veth
/// pair inside it and re-runs this test binary's `inner` test there. Skips
/// (or fails under CI) when the machine cannot.
pub fn run_outer(what: &str, tag: &str, inner: &str, limit: Duration) {
    run_outer_checked(what, tag, inner, limit, prerequisites);
}

/// [`run_outer`] with its own check of what the machine must have.
pub fn run_outer_checked(
    what: &str,
    tag: &str,
    inner: &str,
    limit: Duration,
    check: fn() -> Result<(), String>,
) {
    if let Err(why) = check() {
        crate::netns::skip_or_fail(what, &why);
        return;
    }
    let ns = Netns::create(tag);
    ns.veth_inside(SERVER_ADDR, PEER_ADDR);
    let passed = ns.run_test(inner, limit);
    drop(ns);
    assert!(passed, "{what} failed (its output is above)");
}

/// The inner half: runs `scenario` when inside the namespace made by
/// `run_outer` (and does nothing when run directly).
pub fn run_inner<F: std::future::Future<Output = ()>>(scenario: impl FnOnce() -> F) {
    if std::env::var_os(INNER_ENV).is_none() {
        eprintln!("this test only runs inside the namespace its outer test makes");
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(scenario());
}

/// Whether this machine can run the browser test; `Err` says why not.
pub fn prerequisites() -> Result<(), String> {
    crate::netns::prerequisites()?;
    for (tool, package) in [
        ("chromium", "chromium"),
        ("chromedriver", "chromium-driver"),
        ("certutil", "libnss3-tools"),
    ] {
        if which(tool).is_none() {
            return Err(format!(
                "{tool} is not installed (apt-get install {package})"
            ));
        }
    }
    Ok(())
}

/// The browser tests' needs, and `nft` (Debian's nftables) to drop packets.
pub fn prerequisites_with_nft() -> Result<(), String> {
    prerequisites()?;
    match Command::new("nft").arg("--version").output() {
        Ok(out) if out.status.success() => Ok(()),
        _ => Err("nft (Debian's nftables) is not installed".into()),
    }
}

/// Whether Firefox can be driven here; `Err` says why not.
pub fn firefox_prerequisites() -> Result<(), String> {
    prerequisites()?;
    if which("firefox-esr").is_none() {
        return Err("firefox-esr is not installed (apt-get install firefox-esr)".into());
    }
    if geckodriver().is_none() {
        return Err("geckodriver is not installed (cargo install geckodriver)".into());
    }
    Ok(())
}

/// geckodriver on PATH, or where `cargo install` puts it.
fn geckodriver() -> Option<PathBuf> {
    which("geckodriver").or_else(|| {
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
        let path = home.join("bin/geckodriver");
        path.is_file().then_some(path)
    })
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(tool))
        .find(|p| p.is_file())
}

/// One person's browser: a chromedriver in its own process group, with its
/// own HOME (and so its own NSS database), profile and TMPDIR.
pub struct Browser {
    pub client: Client,
    driver: Child,
    pub name: String,
}

impl Browser {
    pub async fn launch(name: &str, root: &Path, ca_pem: &Path) -> Browser {
        Self::launch_trusting(name, root, Some(ca_pem)).await
    }

    /// A browser that trusts the authority in `ca_pem`, or (with `None`)
    /// nothing but the system's roots: a phone before its first visit.
    pub async fn launch_trusting(name: &str, root: &Path, ca_pem: Option<&Path>) -> Browser {
        Self::launch_chromium(name, root, ca_pem, None, vec![]).await
    }

    /// A Chromium whose fake microphone plays `wav` (looped) instead of
    /// its beep: a loud talker, or a silent one.
    pub async fn launch_with_audio(name: &str, root: &Path, ca_pem: &Path, wav: &Path) -> Browser {
        let arg = format!("--use-file-for-fake-audio-capture={}", wav.display());
        Self::launch_chromium(name, root, Some(ca_pem), None, vec![arg]).await
    }

    /// A Chromium whose network is the namespace `netns` while its
    /// chromedriver stays in ours: it runs through a wrapper that enters the
    /// namespace, and chromedriver talks to it over a pipe
    /// (`--remote-debugging-pipe`; a DevTools port would be on the other
    /// namespace's loopback).
    pub async fn launch_in_netns(name: &str, root: &Path, ca_pem: &Path, netns: &str) -> Browser {
        Self::launch_chromium(name, root, Some(ca_pem), Some(netns), vec![]).await
    }

    async fn launch_chromium(
        name: &str,
        root: &Path,
        ca_pem: Option<&Path>,
        netns: Option<&str>,
        mut extra: Vec<String>,
    ) -> Browser {
        let home = root.join(format!("home-{name}"));
        let tmp = home.join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        // Chromium reads the NSS database in $HOME/.pki/nssdb.
        nss_database(&home.join(".pki/nssdb"), ca_pem);

        let profile = home.join("profile");
        let mut binary = PathBuf::from("/usr/lib/chromium/chromium");
        if let Some(netns) = netns {
            use std::os::unix::fs::PermissionsExt;
            binary = home.join("chromium-in-netns");
            std::fs::write(
                &binary,
                format!(
                    "#!/bin/sh\nexec ip netns exec {netns} /usr/lib/chromium/chromium \"$@\"\n"
                ),
            )
            .unwrap();
            std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
            extra.push("--remote-debugging-pipe".to_string());
        }
        let mut caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": binary,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                    "--autoplay-policy=no-user-gesture-required",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic",
                    "--disable-features=WebRtcHideLocalIpsWithMdns",
                    "--window-size=1100,800",
                    format!("--user-data-dir={}", profile.display()),
                ],
                // Notifications allowed, as after a person said yes to the
                // app's one request (tests/ringing_browser.rs).
                "prefs": { "profile.default_content_setting_values.notifications": 1 }
            }
        });
        let args = caps["goog:chromeOptions"]["args"].as_array_mut().unwrap();
        args.extend(extra.into_iter().map(Value::String));
        let mut driver = Command::new("chromedriver");
        driver.env("HOME", &home).env("TMPDIR", &tmp);
        let (client, driver) = start_session(driver, caps).await;
        Browser {
            client,
            driver,
            name: name.to_string(),
        }
    }

    /// Firefox (Debian's firefox-esr, over geckodriver), trusting the
    /// authority in `ca_pem` through its profile's NSS database, with a fake
    /// camera and microphone and no permission prompts.
    pub async fn launch_firefox(name: &str, root: &Path, ca_pem: &Path) -> Browser {
        let home = root.join(format!("home-{name}"));
        let profile = home.join("profile");
        let tmp = home.join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        // Firefox keeps its own in the profile.
        nss_database(&profile, Some(ca_pem));
        let prefs = [
            ("media.navigator.streams.fake", "true"),
            ("media.navigator.permission.disabled", "true"),
            ("media.autoplay.default", "0"),
            ("media.autoplay.blocking_policy", "0"),
            // Host candidates as addresses, not mDNS names (no resolver here).
            ("media.peerconnection.ice.obfuscate_host_addresses", "false"),
            ("network.dns.disableIPv6", "true"),
            ("browser.shell.checkDefaultBrowser", "false"),
            ("datareporting.policy.dataSubmissionEnabled", "false"),
            ("app.update.enabled", "false"),
        ];
        let user_js: String = prefs
            .iter()
            .map(|(k, v)| format!("user_pref(\"{k}\", {v});\n"))
            .collect();
        std::fs::write(profile.join("user.js"), user_js).unwrap();
        let caps = json!({
            "browserName": "firefox",
            "acceptInsecureCerts": false,
            "moz:firefoxOptions": {
                "binary": "/usr/bin/firefox-esr",
                "args": ["-headless", "-profile", profile.to_str().unwrap(), "--width=1100", "--height=800"]
            }
        });
        let mut driver = Command::new(geckodriver().expect("geckodriver is installed"));
        driver.env("HOME", &home).env("TMPDIR", &tmp);
        let (client, driver) = start_session(driver, caps).await;
        Browser {
            client,
            driver,
            name: name.to_string(),
        }
    }

    /// The process group of its chromedriver and every browser process.
    pub fn pgid(&self) -> u32 {
        self.driver.id()
    }

    /// Clicks the element with this id (a video, a button found by id).
    pub async fn click_id(&self, id: &str) {
        self.client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|e| panic!("{}: no element #{id}: {e}", self.name))
            .click()
            .await
            .unwrap_or_else(|e| panic!("{}: clicking #{id}: {e}", self.name));
    }

    /// Runs `script` (a function body) in the page and returns its result.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("{}: script failed: {e}", self.name))
    }

    /// Polls `condition` (a JS expression) until it is true.
    pub async fn wait_for(&self, what: &str, condition: &str) {
        self.wait_for_within(what, condition, Duration::from_secs(15))
            .await;
    }

    /// [`Browser::wait_for`] with its own deadline.
    pub async fn wait_for_within(&self, what: &str, condition: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        let script = format!("return !!({condition});");
        loop {
            if self.client.execute(&script, vec![]).await.ok() == Some(Value::Bool(true)) {
                return;
            }
            if Instant::now() > deadline {
                let state = self.describe().await;
                panic!("{}: timed out waiting for {what}\n{state}", self.name);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What the page shows, for failure messages.
    pub async fn describe(&self) -> String {
        self.client
            .execute(
                "return 'callState=' + document.body.dataset.callState + '\\nstatus=' + \
                 (document.getElementById('status')||{}).textContent + '\\ntext=' + document.body.innerText.slice(0, 1500);",
                vec![],
            )
            .await
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .unwrap_or_else(|e| format!("(page not readable: {e})"))
    }

    /// Clicks the visible, enabled button whose accessible name is `name`.
    pub async fn press(&self, name: &str) {
        let xpath = format!(
            "//button[(normalize-space(.)={q} or @aria-label={q}) and not(@disabled)]",
            q = xpath_literal(name)
        );
        self.wait_for(
            &format!("a button named {name:?}"),
            &format!(
                "(() => {{ const r = document.evaluate({x}, document, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null); \
                 for (let i = 0; i < r.snapshotLength; i++) {{ const b = r.snapshotItem(i); if (b.offsetParent !== null) return true; }} return false; }})()",
                x = serde_json::to_string(&xpath).unwrap()
            ),
        )
        .await;
        for el in self.client.find_all(Locator::XPath(&xpath)).await.unwrap() {
            if el.is_displayed().await.unwrap_or(false) {
                el.click()
                    .await
                    .unwrap_or_else(|e| panic!("{}: clicking {name:?}: {e}", self.name));
                return;
            }
        }
        panic!("{}: button {name:?} vanished", self.name);
    }

    /// Types into the input labelled `label`, replacing its content, then Enter.
    pub async fn fill(&self, label: &str, text: &str) {
        let xpath = format!(
            "//input[@id=//label[normalize-space(.)={}]/@for]",
            xpath_literal(label)
        );
        let input = self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("{}: no input labelled {label:?}: {e}", self.name));
        input.clear().await.unwrap();
        input.send_keys(&format!("{text}\u{E007}")).await.unwrap();
    }

    /// Waits until `document.body.dataset.callState` is `state`.
    pub async fn wait_call_state(&self, state: &str) {
        let condition = format!("document.body.dataset.callState === '{state}'");
        self.wait_for(&format!("call state {state}"), &condition)
            .await;
    }

    /// Waits until the status line contains `text`.
    pub async fn wait_status(&self, text: &str) {
        let quoted = serde_json::to_string(text).unwrap();
        let condition = format!("document.getElementById('status').textContent.includes({quoted})");
        self.wait_for(&format!("the status {text:?}"), &condition)
            .await;
    }

    pub async fn quit(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.client.clone().close()).await;
        kill_group(self.driver.id());
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // After quit() this finds the process gone; otherwise (a failed test)
        // it takes chromedriver and its Chromium with it.
        kill_group(self.driver.id());
    }
}

/// An NSS certificate database in `dir` that trusts the authority in
/// `ca_pem` for websites (or nothing, with `None`).
fn nss_database(dir: &Path, ca_pem: Option<&Path>) {
    std::fs::create_dir_all(dir).unwrap();
    let db = format!("sql:{}", dir.display());
    run(Command::new("certutil").args(["-d", &db, "-N", "--empty-password"]));
    if let Some(ca_pem) = ca_pem {
        run(Command::new("certutil")
            .args(["-d", &db, "-A", "-t", "C,,", "-n", "lanrtc-test", "-i"])
            .arg(ca_pem));
    }
}

/// Starts a WebDriver server (`driver`, given its port with `--port=`) in
/// its own process group and opens a session with `caps`.
async fn start_session(mut driver: Command, caps: Value) -> (Client, Child) {
    use std::os::unix::process::CommandExt;
    let port = free_port();
    let program = driver.get_program().to_string_lossy().into_owned();
    let child = driver
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("{program} starts: {e}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{program} did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let Value::Object(caps) = caps else {
        unreachable!()
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("WebDriver session");
    (client, child)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An XPath string literal for any text (quotes included).
fn xpath_literal(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        let parts: Vec<String> = s.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// Copies a directory tree (the app, so a test can change its copy).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// `caller` calls `callee` (listed as `callee_name`), who accepts: both in
/// the call with the other's video playing.
pub async fn call(caller: &Browser, callee: &Browser, callee_name: &str) {
    caller.press(&format!("Call {callee_name}")).await;
    callee.wait_call_state("ringing").await;
    callee.press("Accept").await;
    for b in [caller, callee] {
        b.wait_call_state("in-call").await;
        b.wait_for("remote video playing", REMOTE_PLAYING).await;
    }
}

/// The server in its test defaults (generated authority in `root/certs`)
/// on the namespace's address: the app's URL, the authority's PEM for the
/// browsers, the sender that stops it, and its task.
pub async fn serve_app(
    root: &Path,
) -> (
    String,
    std::path::PathBuf,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let certs = root.join("certs");
    let mut settings = crate::common::settings(&certs);
    settings.bind = Some(SERVER_ADDR.into());
    let config = lanrtc::Config::load(&settings).unwrap();
    let (origin, stop, server) = serve(config).await;
    (format!("{origin}/"), certs.join("ca.pem"), stop, server)
}

/// Runs the server on the namespace's address: its origin, the sender that
/// stops it, and its task.
pub async fn serve(
    config: lanrtc::Config,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind((SERVER_ADDR, 0))
        .await
        .unwrap();
    let origin = format!(
        "https://{SERVER_ADDR}:{}",
        listener.local_addr().unwrap().port()
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(lanrtc::run(config, listener, async {
        let _ = stopped.await;
    }));
    (origin, stop, server)
}

// ---- client isolation: two namespaces that reach the server's, not each other ----

pub const ISO_SRV_A: &str = "10.99.1.1";
pub const ISO_A: &str = "10.99.1.2";
pub const ISO_SRV_B: &str = "10.99.2.1";
pub const ISO_B: &str = "10.99.2.2";

/// The outer half of a client-isolation test: the server's namespace joined
/// by a veth pair to each of two browsers' namespaces, with no forwarding
/// between them (client-isolated Wi-Fi), then `inner` run in the server's.
pub fn run_isolated(what: &str, tag: &str, inner: &str, limit: Duration) {
    if let Err(why) = prerequisites() {
        crate::netns::skip_or_fail(what, &why);
        return;
    }
    let srv = Netns::create(&format!("{tag}-srv"));
    let a = Netns::create(&format!("{tag}-a"));
    let b = Netns::create(&format!("{tag}-b"));
    srv.veth_named(&a, ("va", ISO_SRV_A), ("vs", ISO_A));
    srv.veth_named(&b, ("vb", ISO_SRV_B), ("vs", ISO_B));
    let child = srv.spawn_test(inner, &[("LANRTC_NS_A", &a.name), ("LANRTC_NS_B", &b.name)]);
    let passed = crate::netns::wait_child(child, limit);
    drop((srv, a, b));
    assert!(passed, "{what} failed (its output is above)");
}

/// The inner half's set-up: the server on every address of its namespace,
/// Alice's and Bob's browsers each in its own namespace with the app open
/// (at the server's address on its side), after checking that neither
/// reaches the other's network. Returns them, the stop sender and the task.
pub async fn isolated_pair(
    root: &Path,
) -> (
    Browser,
    Browser,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let ns_a = std::env::var("LANRTC_NS_A").unwrap();
    let ns_b = std::env::var("LANRTC_NS_B").unwrap();
    let certs = root.join("certs");
    let mut settings = crate::common::settings(&certs);
    // Every address of the server's namespace (one per browser's side), for
    // the media server's UDP sockets too; nothing here reaches a real
    // network.
    settings.bind = Some("0.0.0.0".into());
    let config = lanrtc::Config::load(&settings).unwrap();
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(lanrtc::run(config, listener, async {
        let _ = stopped.await;
    }));
    let ca = certs.join("ca.pem");
    let (alice, bob) = tokio::join!(
        Browser::launch_in_netns("alice", root, &ca, &ns_a),
        Browser::launch_in_netns("bob", root, &ca, &ns_b)
    );
    let (url_a, url_b) = (
        format!("https://{ISO_SRV_A}:{port}/"),
        format!("https://{ISO_SRV_B}:{port}/"),
    );
    alice.client.goto(&url_a).await.unwrap();
    bob.client.goto(&url_b).await.unwrap();
    // Each reaches the appliance; neither reaches the other's network.
    let unreachable = alice.client.goto(&url_b).await;
    assert!(
        unreachable.is_err(),
        "Alice's browser reaches Bob's network"
    );
    alice.client.goto(&url_a).await.unwrap();
    alice.fill("Your name", "Alice").await;
    bob.fill("Your name", "Bob").await;
    (alice, bob, stop, server)
}

/// Writes `seconds` of 48 kHz mono 16-bit PCM to `path`: with `loud`,
/// speech-like bursts of a wavering tone (a steady one is what noise
/// suppression is made to remove), else silence.
pub fn write_wav(path: &Path, seconds: u32, loud: bool) {
    const RATE: u32 = 48_000;
    let samples = RATE * seconds;
    let mut out = Vec::with_capacity(44 + samples as usize * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + samples * 2).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&RATE.to_le_bytes());
    out.extend_from_slice(&(RATE * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(samples * 2).to_le_bytes());
    let mut phase = 0f64;
    for i in 0..samples {
        let t = f64::from(i) / f64::from(RATE);
        let value = if loud {
            // 200–500 Hz, wavering four times a second, in syllables of
            // about a quarter second with short gaps.
            let freq = 350.0 + 150.0 * (t * 4.0 * std::f64::consts::TAU).sin();
            phase += freq / f64::from(RATE) * std::f64::consts::TAU;
            let syllable = (t * 3.3).fract() < 0.8;
            if syllable {
                0.6 * phase.sin()
            } else {
                0.0
            }
        } else {
            0.0
        };
        out.extend_from_slice(&((value * 32767.0) as i16).to_le_bytes());
    }
    std::fs::write(path, out).unwrap();
}

// ---- file transfers (tests/transfer_browser.rs, tests/firefox_browser.rs) ----

/// A file of `len` pseudo-random bytes (incompressible, different per seed).
pub fn make_file(dir: &Path, name: &str, len: usize, seed: u64) -> (PathBuf, String) {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut data = Vec::with_capacity(len + 8);
    while data.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    data.truncate(len);
    let path = dir.join(name);
    std::fs::write(&path, &data).unwrap();
    (path, sha256_hex(&data))
}

pub fn sha256_hex(data: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A Wi-Fi outage for the room, as far as TCP can tell: every established
/// connection to the server whose page `b` shows is reset, signaling
/// included, and both ends learn it at once. `end` is `"dport"` to kill the
/// browsers' ends (browsers in this namespace) or `"sport"` for the
/// server's (browsers in namespaces of their own). Returns each page's id
/// before, for [`wait_new_id`].
pub async fn reset_connections(pages: &[&Browser], end: &str) -> Vec<Value> {
    let port = pages[0].js("return location.port;").await;
    let mut ids = Vec::new();
    for b in pages {
        ids.push(b.js("return window.lanrtc.selfId;").await);
    }
    let port = format!(":{}", port.as_str().unwrap());
    run(Command::new("ss").args(["-K", "state", "established", end, "=", &port]));
    ids
}

/// Waits until the page is connected again under an id other than `old`
/// and `also` holds.
pub async fn wait_new_id(b: &Browser, old: &Value, also: &str, what: &str) {
    b.wait_for_within(
        what,
        &format!("window.lanrtc.selfId !== null && window.lanrtc.selfId !== {old} && ({also})"),
        Duration::from_secs(40),
    )
    .await;
}

/// Picks `paths` in the file chooser that "Send files to <peer>" opens.
pub async fn send_files(b: &Browser, peer: &str, paths: &[&Path]) {
    eprintln!("{}: sending {} files to {peer}", b.name, paths.len());
    b.press(&format!("Send files to {peer}")).await;
    eprintln!("{}: pressed", b.name);
    let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    b.client
        .find(Locator::Id("file-input"))
        .await
        .unwrap()
        .send_keys(&list.join("\n"))
        .await
        .unwrap_or_else(|e| panic!("{}: choosing files: {e}", b.name));
}

/// Sends `text` to `peer` with "Send text".
pub async fn send_text(b: &Browser, peer: &str, text: &str) {
    b.press(&format!("Send text to {peer}")).await;
    b.client
        .find(Locator::Id("send-text-input"))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
    b.press("Send").await;
}

/// The newest transfer as the page shows it (a JS expression).
pub const NEWEST: &str = "window.lanrtc.transfers[0]";

pub async fn newest(b: &Browser, field: &str) -> Value {
    b.js(&format!("const t = {NEWEST}; return t ? t.{field} : null;"))
        .await
}

/// The SHA-256 of each file of the newest received transfer, computed in
/// the receiving page from what it would save.
pub async fn received_hashes(b: &Browser) -> Vec<String> {
    let v = b
        .js(&format!(
            "return (async () => {{ const out = []; for (const f of {NEWEST}.files) {{ \
               if (!f.file) {{ out.push(null); continue; }} \
               const d = new Uint8Array(await crypto.subtle.digest('SHA-256', await f.file.arrayBuffer())); \
               out.push(Array.from(d, (x) => x.toString(16).padStart(2, '0')).join('')); }} return out; }})();"
        ))
        .await;
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap_or("(none)").to_string())
        .collect()
}

pub async fn wait_state(b: &Browser, state: &str, limit: Duration) {
    b.wait_for_within(
        &format!("the newest transfer to be {state}"),
        &format!("{NEWEST} && {NEWEST}.state === '{state}'"),
        limit,
    )
    .await;
}
