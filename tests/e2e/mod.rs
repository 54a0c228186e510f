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
/// The other end of the pair, so WebRTC has two host addresses to pair.
pub const PEER_ADDR: &str = "10.99.1.2";

pub use crate::netns::INNER_ENV;
use crate::netns::{kill_group, run, Netns};

/// The outer half of a browser test: makes a private namespace with a veth
/// pair inside it and re-runs this test binary's `inner` test there. Skips
/// (or fails under CI) when the machine cannot.
pub fn run_outer(what: &str, tag: &str, inner: &str, limit: Duration) {
    if let Err(why) = prerequisites() {
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
        use std::os::unix::process::CommandExt;
        let home = root.join(format!("home-{name}"));
        let tmp = home.join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let nssdb = format!("sql:{}", home.join(".pki/nssdb").display());
        std::fs::create_dir_all(home.join(".pki/nssdb")).unwrap();
        run(Command::new("certutil").args(["-d", &nssdb, "-N", "--empty-password"]));
        if let Some(ca_pem) = ca_pem {
            run(Command::new("certutil")
                .args(["-d", &nssdb, "-A", "-t", "C,,", "-n", "lanrtc-test", "-i"])
                .arg(ca_pem));
        }

        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .env("HOME", &home)
            .env("TMPDIR", &tmp)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = home.join("profile");
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/lib/chromium/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                    "--autoplay-policy=no-user-gesture-required",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--disable-quic",
                    "--disable-features=WebRtcHideLocalIpsWithMdns",
                    "--window-size=1100,800",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("WebDriver session");
        Browser {
            client,
            driver,
            name: name.to_string(),
        }
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
        let deadline = Instant::now() + Duration::from_secs(15);
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
