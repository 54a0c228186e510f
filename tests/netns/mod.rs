//! Private network namespaces for tests that need real interfaces without
//! touching the machine's network: WebRTC (a non-loopback interface) and mDNS
//! (multicast between two hosts). Needs root and iproute2.
//!
//! A test re-runs its own binary inside a namespace (`ip netns exec`) to do
//! the work there; dropping the [`Netns`] kills whatever is left inside and
//! deletes it.
#![allow(dead_code)]

use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Set in the environment of a test binary re-run inside a namespace.
pub const INNER_ENV: &str = "LANRTC_NETNS_INNER";

/// Whether namespaces can be made here; `Err` says why not.
pub fn prerequisites() -> Result<(), String> {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| format!("cannot run id: {e}"))?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Err("network namespaces need root".into());
    }
    match Command::new("ip").arg("-V").output() {
        Ok(out) if out.status.success() => Ok(()),
        _ => Err("ip is not installed (apt-get install iproute2)".into()),
    }
}

/// Skips with one line, or fails under CI where skipping would hide a gap.
pub fn skip_or_fail(what: &str, why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{what} cannot run in CI: {why}");
    }
    eprintln!("skipping {what}: {why}");
}

pub fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .status();
}

/// A network namespace with `lo` up.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn create(tag: &str) -> Netns {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let ns = Netns {
            name: format!("lanrtc-{tag}-{}-{nanos}", std::process::id()),
        };
        run(Command::new("ip").args(["netns", "add", &ns.name]));
        // Without this, IPv6 link-local addresses settle a second later and
        // Chromium aborts loads with ERR_NETWORK_CHANGED.
        for key in [
            "net.ipv6.conf.all.accept_dad=0",
            "net.ipv6.conf.default.accept_dad=0",
        ] {
            run(Command::new("ip").args(["netns", "exec", &ns.name, "sysctl", "-qw", key]));
        }
        run(Command::new("ip").args(["-n", &ns.name, "link", "set", "lo", "up"]));
        ns
    }

    /// A veth pair with both ends in this namespace, addressed `a` and `b` (/24).
    pub fn veth_inside(&self, a: &str, b: &str) {
        let n = self.name.as_str();
        run(Command::new("ip").args([
            "-n", n, "link", "add", "va", "type", "veth", "peer", "name", "vb",
        ]));
        for (dev, addr) in [("va", a), ("vb", b)] {
            run(Command::new("ip").args([
                "-n",
                n,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                dev,
            ]));
            run(Command::new("ip").args(["-n", n, "link", "set", dev, "up"]));
        }
    }

    /// A veth pair joining this namespace (address `mine`) to `other` (`theirs`).
    pub fn veth_to(&self, other: &Netns, mine: &str, theirs: &str) {
        self.veth_named(other, ("vx", mine), ("vy", theirs));
    }

    /// [`Netns::veth_to`] with the devices' names, for a namespace with
    /// more than one pair.
    pub fn veth_named(&self, other: &Netns, mine: (&str, &str), theirs: (&str, &str)) {
        run(Command::new("ip").args([
            "-n",
            &self.name,
            "link",
            "add",
            mine.0,
            "type",
            "veth",
            "peer",
            "name",
            theirs.0,
            "netns",
            &other.name,
        ]));
        for (ns, dev, addr) in [(self, mine.0, mine.1), (other, theirs.0, theirs.1)] {
            run(Command::new("ip").args([
                "-n",
                &ns.name,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                dev,
            ]));
            run(Command::new("ip").args(["-n", &ns.name, "link", "set", dev, "up"]));
        }
    }

    /// Starts this test binary's `test_name` inside the namespace, in its own
    /// process group.
    pub fn spawn_test(&self, test_name: &str, env: &[(&str, &str)]) -> Child {
        use std::os::unix::process::CommandExt;
        let exe = std::env::current_exe().unwrap();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name])
            .arg(exe)
            .args([
                "--exact",
                test_name,
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(INNER_ENV, "1")
            .process_group(0);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.spawn().unwrap()
    }

    /// Runs `test_name` inside the namespace and says whether it passed.
    pub fn run_test(&self, test_name: &str, limit: Duration) -> bool {
        let child = self.spawn_test(test_name, &[]);
        wait_child(child, limit)
    }
}

/// The usual shape of a namespace test: skip (or fail under CI) when
/// namespaces cannot be made, else a namespace with a veth pair `a`–`b`
/// inside it, this binary's `inner` test run there, and its verdict.
pub fn run_in_private_lan(what: &str, tag: &str, a: &str, b: &str, inner: &str, limit: Duration) {
    if let Err(why) = prerequisites() {
        skip_or_fail(what, &why);
        return;
    }
    let ns = Netns::create(tag);
    ns.veth_inside(a, b);
    let passed = ns.run_test(inner, limit);
    drop(ns);
    assert!(passed, "{what} failed (its output is above)");
}

/// Waits for a test process, killing its process group past `limit`.
pub fn wait_child(mut child: Child, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.success();
        }
        if Instant::now() > deadline {
            eprintln!("test process exceeded {limit:?}; killing it");
            kill_group(child.id());
            let _ = child.wait();
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", pid]).status();
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}
