//! The server process both benchmarks measure: the release `lanrtc` binary
//! started on loopback, with its CPU time and memory read from `/proc`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub tls: Arc<ClientConfig>,
    _dir: tempfile::TempDir,
}

/// `--pin`: the server runs on CPU 0 and the load generator on CPU 1, so the
/// two never wait for each other's threads to be scheduled.
pub static PIN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl Server {
    /// The release binary on loopback with generated certificates, its own
    /// settings for a benchmark (`MDNS=off`, no rate limit) plus `env`.
    pub fn start(env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let server = env!("CARGO_BIN_EXE_lanrtc");
        // taskset execs the server, so the child's pid is the server's.
        let mut command = if PIN.load(std::sync::atomic::Ordering::Relaxed) {
            let mut c = Command::new("taskset");
            c.args(["-c", "0", server]);
            c
        } else {
            Command::new(server)
        };
        let mut child = command
            .env("MDNS", "off")
            .env("BIND", "127.0.0.1")
            .env("PORT", "0")
            .env("RATE_LIMIT", "0")
            // One address may hold half of MAX_PEERS: 12,500 covers the
            // 10,000-peer capacity run.
            .env("MAX_PEERS", "25000")
            .env("HOST", "bench")
            .env("CERTS_DIR", dir.path().join("certs"))
            .env("RUST_LOG", "warn")
            // Every benchmark client comes from 127.0.0.1.
            .env("MAX_CONNECTIONS_PER_ADDRESS", "0")
            .env("MAX_HANDSHAKES_PER_ADDRESS", "0")
            .env("MAX_PEERS_PER_ADDRESS", "0")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the lanrtc binary starts");
        let stdout = child.stdout.take().unwrap();
        let mut port = None;
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let line = line.unwrap();
            if let Some(rest) = line.split("https://localhost:").nth(1) {
                port = rest.split('/').next().and_then(|p| p.parse::<u16>().ok());
            }
            if line.contains("Ctrl-C") {
                break;
            }
        }
        let port = port.expect("the banner names the port");
        let ca = CertificateDer::from_pem_file(dir.path().join("certs/ca.pem")).unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(ca).unwrap();
        let tls = ClientConfig::builder_with_provider(lanrtc::tls::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Server {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            tls: Arc::new(tls),
            _dir: dir,
        }
    }

    /// User + system CPU seconds the server has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the parenthesised command name; utime and stime are
        // the 14th and 15th fields of the whole line.
        let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
            + fields
                .get(12)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0);
        ticks / 100.0 // USER_HZ is 100 on Linux
    }

    /// `write`-family system calls the server has made (`syscw` in
    /// /proc/PID/io): each is at least one TLS record on a socket.
    pub fn write_syscalls(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/io", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("syscw:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Peak resident memory in KiB (`VmHWM`).
    pub fn peak_rss_kib(&self) -> u64 {
        self.status_kib("VmHWM:")
    }

    /// Resident memory in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `--pin`, generator side: keeps this process (the load generator) on CPU
/// 1, before its runtime starts so every thread inherits it. Exits with a
/// message when the machine cannot.
pub fn pin_generator() {
    let ok = Command::new("taskset")
        .args(["-p", "-c", "1", &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("--pin needs taskset (util-linux) and at least 2 CPUs");
        std::process::exit(2);
    }
}

/// Prints a scenario's results as a table row (`key=value | …`) and as one
/// JSON line.
pub fn report(result: &serde_json::Value) {
    let row: Vec<String> = result
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| match v.as_f64() {
                    Some(f) if f.fract() != 0.0 => format!("{k}={f:.3}"),
                    _ => format!("{k}={v}"),
                })
                .collect()
        })
        .unwrap_or_default();
    println!("| {} |", row.join(" | "));
    println!("{result}");
}
