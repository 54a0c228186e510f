//! Live reload: editing a file in the served directory sends every connected
//! client a fresh `ready` with the new version; saving identical bytes, a
//! burst of saves, editor droppings and restarts behave as a person expects.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{TestServer, Ws};

async fn server_on(dir: &Path, certs: &Path) -> TestServer {
    let mut s = common::settings(certs);
    s.public_dir = Some(dir.to_path_buf());
    TestServer::start_settings(s, |_| {}).await
}

fn app_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<!doctype html>one").unwrap();
    std::fs::write(dir.path().join("style.css"), "body{}").unwrap();
    std::fs::create_dir(dir.path().join("js")).unwrap();
    std::fs::write(dir.path().join("js/app.js"), "export {};").unwrap();
    dir
}

/// The version a new connection is told.
async fn version(server: &TestServer) -> String {
    let mut ws = server.ws("/rtc", &[]).await.unwrap();
    ws.recv().await["version"].as_str().unwrap().to_string()
}

/// Waits for the next `ready` on an already-ready socket.
async fn next_ready(ws: &mut Ws) -> serde_json::Value {
    let m = ws.recv().await;
    assert_eq!(m["type"], "ready", "{m}");
    m
}

#[tokio::test]
async fn a_changed_file_sends_a_new_ready_to_every_client() {
    let app = app_dir();
    let certs = tempfile::tempdir().unwrap();
    let server = server_on(app.path(), certs.path()).await;
    let mut a = server.peer("Ann", 0).await;
    let mut lurker = server.ws("/rtc", &[]).await.unwrap();
    let first = lurker.recv().await;
    let v1 = first["version"].as_str().unwrap().to_string();
    // Let the watcher settle before editing.
    tokio::time::sleep(Duration::from_millis(200)).await;

    let written = Instant::now();
    std::fs::write(app.path().join("js/app.js"), "export const x = 2;").unwrap();
    let ready = next_ready(&mut a).await;
    let latency = written.elapsed();
    eprintln!("live reload: write to ready on the socket took {latency:?}");
    assert_ne!(ready["version"].as_str().unwrap(), v1);
    assert_eq!(ready["id"], a.id.as_str(), "each client keeps its own id");
    assert_eq!(ready["changed"], serde_json::json!(["js/app.js"]));
    assert!(latency < Duration::from_secs(2), "took {latency:?}");
    let other = next_ready(&mut lurker).await;
    assert_eq!(other["version"], ready["version"]);
    assert_eq!(other["id"], first["id"]);

    // New connections get the new version too.
    let fresh = server.client().await;
    drop(fresh);
    let mut again = server.ws("/rtc", &[]).await.unwrap();
    assert_eq!(again.recv().await["version"], ready["version"]);
}

#[tokio::test]
async fn identical_saves_bursts_and_editor_droppings() {
    let app = app_dir();
    let certs = tempfile::tempdir().unwrap();
    let server = server_on(app.path(), certs.path()).await;
    let mut a = server.peer("Ann", 0).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The same bytes again, and a touch: nothing changes, nothing is sent.
    std::fs::write(app.path().join("style.css"), "body{}").unwrap();
    let f = std::fs::File::options()
        .append(true)
        .open(app.path().join("index.html"))
        .unwrap();
    f.set_modified(std::time::SystemTime::now()).unwrap();
    drop(f);
    // What editors leave beside the real files.
    for name in [".style.css.swp", "4913", "index.html~", ".#index.html"] {
        std::fs::write(app.path().join(name), "junk").unwrap();
    }
    a.quiet(Duration::from_millis(800)).await;

    // A burst of ten saves within a few milliseconds: one reload, not ten.
    for i in 0..10 {
        std::fs::write(
            app.path().join("style.css"),
            format!("body{{margin:{i}px}}"),
        )
        .unwrap();
    }
    let ready = next_ready(&mut a).await;
    assert_eq!(ready["changed"], serde_json::json!(["style.css"]));
    a.quiet(Duration::from_millis(800)).await;
}

#[tokio::test]
async fn the_version_survives_a_restart_only_when_nothing_changed() {
    let app = app_dir();
    let certs = tempfile::tempdir().unwrap();
    let mut first = server_on(app.path(), certs.path()).await;
    let v1 = version(&first).await;
    first.stop().await;

    let mut second = server_on(app.path(), certs.path()).await;
    assert_eq!(
        version(&second).await,
        v1,
        "a restart alone must not reload every device"
    );
    second.stop().await;

    std::fs::write(app.path().join("index.html"), "<!doctype html>two").unwrap();
    let third = server_on(app.path(), certs.path()).await;
    assert_ne!(
        version(&third).await,
        v1,
        "changed files must change the version"
    );
}

/// Counts the `ready` messages that arrive within `window`.
async fn readies_within(ws: &mut Ws, window: Duration) -> Vec<serde_json::Value> {
    let mut got = Vec::new();
    let until = Instant::now() + window;
    while let Ok(m) = ws
        .next_within(until.saturating_duration_since(Instant::now()))
        .await
    {
        assert_eq!(m["type"], "ready", "{m}");
        got.push(m);
    }
    got
}

/// Writes `(path, content)` pairs 9 ms apart on a thread of their own, so
/// the server keeps running meanwhile as it would beside an editor. Returns
/// the longest gap that really passed between two writes.
async fn write_spaced(writes: Vec<(std::path::PathBuf, String)>) -> Duration {
    tokio::task::spawn_blocking(move || {
        let mut longest = Duration::ZERO;
        let mut last: Option<Instant> = None;
        for (path, content) in writes {
            std::fs::write(path, content).unwrap();
            let now = Instant::now();
            if let Some(t) = last {
                longest = longest.max(now - t);
            }
            last = Some(now);
            std::thread::sleep(Duration::from_millis(9));
        }
        longest
    })
    .await
    .unwrap()
}

/// Writes a burst and returns the `ready` messages it caused. A busy machine
/// (the other tests run beside this one) can stall the writing thread, or
/// the watcher's, for longer than the server's quiet period, which makes it
/// two bursts; such a try is repeated, at most thrice. Without the settling
/// every try gives several, so the test still fails.
async fn burst(
    ws: &mut Ws,
    writes: impl Fn(usize) -> Vec<(std::path::PathBuf, String)>,
) -> Vec<serde_json::Value> {
    let mut readies = Vec::new();
    for attempt in 0..3 {
        let longest = write_spaced(writes(attempt)).await;
        readies = readies_within(ws, Duration::from_millis(2000)).await;
        if longest < Duration::from_millis(60) && readies.len() == 1 {
            return readies;
        }
        eprintln!(
            "the writes were {longest:?} apart at worst and made {} new versions; trying the burst again",
            readies.len()
        );
    }
    readies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_formatter_or_a_checkout_reloads_once() {
    let app = app_dir();
    let certs = tempfile::tempdir().unwrap();
    let server = server_on(app.path(), certs.path()).await;
    let mut a = server.peer("Ann", 0).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // One file rewritten ten times, 9 ms apart (found from outside: this
    // reloaded every device five times).
    let file = app.path().join("js/app.js");
    let readies = burst(&mut a, |attempt| {
        (0..10)
            .map(|i| (file.clone(), format!("export const x = {attempt}{i};")))
            .collect()
    })
    .await;
    assert_eq!(readies.len(), 1, "one burst, one reload: {readies:?}");
    assert_eq!(readies[0]["changed"], serde_json::json!(["js/app.js"]));

    // Ten files written within 100 ms, as `git checkout` or a build does.
    let dir = app.path().join("js");
    let readies = burst(&mut a, |attempt| {
        (0..10)
            .map(|i| {
                (
                    dir.join(format!("mod{i}.js")),
                    format!("export const v = {attempt};"),
                )
            })
            .collect()
    })
    .await;
    assert_eq!(readies.len(), 1, "one burst, one reload: {readies:?}");
    assert_eq!(readies[0]["changed"].as_array().map(Vec::len), Some(10));
}
