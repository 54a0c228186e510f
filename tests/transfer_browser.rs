//! Sending files and text between two real browsers (a laptop-sized and a
//! phone-sized Chromium, in a room) inside private network namespaces: nothing moves
//! before Accept and a decline sends nothing; a 50 MB file and three small
//! ones arrive with the sender's SHA-256, written by the disk worker; files
//! dropped onto a device's entry are saved into a picked folder under their
//! names (numbered beside one already there); a folder is sent whole; cancel on one side stops both; a
//! transfer whose connection is cut (all UDP dropped mid-way) resumes from
//! the last block the receiver had written, not from the start, and completes intact, also when
//! both pages' connections to the server go silent too (their heartbeats notice, they come back
//! with new ids and rejoin as themselves); and two browsers
//! that can both reach the appliance but not each other (client-isolated
//! Wi-Fi: two namespaces joined only through the server's) transfer through
//! the appliance, saying so.

mod common;
mod e2e;
mod netns;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use e2e::{make_file, newest, received_hashes, send_files, wait_state, Browser, NEWEST};
use fantoccini::Locator;
use serde_json::Value;

#[test]
fn files_and_text_go_between_two_browsers() {
    e2e::run_outer_checked(
        "the file transfer test",
        "files",
        "files_inside_namespace",
        Duration::from_secs(240),
        e2e::prerequisites_with_nft,
    );
}

#[test]
#[ignore = "run by files_and_text_go_between_two_browsers inside its network namespace"]
fn files_inside_namespace() {
    e2e::run_inner(two_browsers);
}

fn nft(args: &str) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("nft {args}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "nft {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn two_browsers() {
    let root = tempfile::tempdir().unwrap();
    let files = root.path().join("to-send");
    std::fs::create_dir_all(&files).unwrap();
    let (big, big_sha) = make_file(&files, "holiday video.mp4", 50_000_000, 1);
    let small: Vec<(PathBuf, String)> = [
        ("notes.txt", 1_234),
        ("photo.jpg", 345_678),
        ("empty.pdf", 0),
    ]
    .iter()
    .enumerate()
    .map(|(i, (name, len))| make_file(&files, name, *len, i as u64 + 2))
    .collect();
    let (url, ca, stop, server) = e2e::serve_app(root.path()).await;
    let (alice, bob) = tokio::join!(
        Browser::launch("alice", root.path(), &ca),
        Browser::launch("bob", root.path(), &ca)
    );
    // Bob is on a phone-sized screen.
    bob.client.set_window_size(390, 844).await.unwrap();
    // In a room, as people would share files.
    let room = format!("{url}r/holiday-pictures");
    for b in [&alice, &bob] {
        b.client.goto(&room).await.unwrap();
    }
    alice.fill("Your name", "Alice").await;
    bob.fill("Your name", "Bob").await;

    // Declined: nothing is sent, both sides say so.
    send_files(&alice, "Bob", &[&small[0].0]).await;
    bob.wait_for(
        "the question",
        "document.body.innerText.includes('Alice wants to send you notes.txt (1 KB)')",
    )
    .await;
    bob.press("Decline the files from Alice").await;
    wait_state(&alice, "declined", Duration::from_secs(10)).await;
    alice
        .wait_for(
            "'Declined' shown",
            "document.getElementById('transfers').innerText.includes('Declined')",
        )
        .await;
    assert_eq!(newest(&bob, "done").await, 0);

    // Four files: the question lists them; after Accept they arrive intact.
    let mut paths: Vec<&Path> = vec![&big];
    paths.extend(small.iter().map(|(p, _)| p.as_path()));
    send_files(&alice, "Bob", &paths).await;
    bob.wait_for(
        "the question for four files",
        "document.body.innerText.includes('Alice wants to send you 4 files (50.3 MB)')",
    )
    .await;
    for name in ["holiday video.mp4", "notes.txt", "photo.jpg", "empty.pdf"] {
        let listed = bob
            .js(&format!(
                "return document.getElementById('transfers').innerText.includes({});",
                serde_json::to_string(name).unwrap()
            ))
            .await;
        assert_eq!(listed, Value::Bool(true), "{name} is not listed");
    }
    assert_eq!(newest(&bob, "done").await, 0, "bytes moved before Accept");
    bob.press("Accept the files from Alice").await;
    alice
        .wait_for(
            "progress with a speed",
            &format!("{NEWEST}.state === 'done' || document.querySelector('.transfer-numbers')?.textContent.includes('MB/s')"),
        )
        .await;
    wait_state(&bob, "done", Duration::from_secs(60)).await;
    wait_state(&alice, "done", Duration::from_secs(10)).await;
    let mut want = vec![big_sha.clone()];
    want.extend(small.iter().map(|(_, h)| h.clone()));
    assert_eq!(received_hashes(&bob).await, want);
    assert_eq!(newest(&bob, "via").await, "direct");
    // Written to disk as it came, by the worker's sync access handles.
    assert_eq!(newest(&bob, "store").await, "opfs-worker");
    for b in [&alice, &bob] {
        let shown = b
            .js("return document.getElementById('transfers').innerText;")
            .await;
        assert!(
            shown.as_str().unwrap().contains("Verified"),
            "{}: {shown}",
            b.name
        );
    }
    let saves = bob
        .js("return [...document.querySelectorAll('#transfers a.save')].map((a) => a.download);")
        .await;
    assert_eq!(
        saves,
        serde_json::json!(["holiday video.mp4", "notes.txt", "photo.jpg", "empty.pdf"])
    );
    save_screenshot(&bob, "files-received-phone").await;

    // Cancel on the receiving side stops both.
    send_files(&alice, "Bob", &[&big]).await;
    bob.press("Accept the files from Alice").await;
    bob.wait_for("some progress", &format!("{NEWEST}.done > 5000000"))
        .await;
    bob.press("Cancel receiving from Alice").await;
    wait_state(&alice, "cancelled", Duration::from_secs(10)).await;
    wait_state(&bob, "cancelled", Duration::from_secs(10)).await;
    let done = newest(&bob, "done").await.as_f64().unwrap();
    assert!(done < 50_000_000.0, "cancel came too late to test: {done}");

    // A text, shown at once with Copy.
    e2e::send_text(&bob, "Alice", "https://example.org/menu").await;
    alice
        .wait_for(
            "the text",
            "document.body.innerText.includes('Bob sent you a text') && document.body.innerText.includes('https://example.org/menu')",
        )
        .await;
    alice.press("Copy the text from Bob").await;

    // And a file the other way, from the phone.
    send_files(&bob, "Alice", &[&small[1].0]).await;
    alice.press("Accept the files from Bob").await;
    wait_state(&alice, "done", Duration::from_secs(20)).await;
    assert_eq!(received_hashes(&alice).await, vec![small[1].1.clone()]);

    drop_and_folders(&alice, &bob, root.path()).await;

    // Cut mid-way: every UDP packet dropped, so the direct link dies; the
    // transfer goes on from what Bob had, and the file is right.
    big_file_under_way(&alice, &bob, &big).await;
    cut("cut", &["meta l4proto udp drop".into()]);
    alice
        .wait_for_within(
            "the drop to be noticed",
            &format!("{NEWEST}.state === 'interrupted' || {NEWEST}.via === 'appliance'"),
            Duration::from_secs(40),
        )
        .await;
    completes_resumed(&alice, &bob, &big_sha, "cut").await;

    whole_room_blip(&alice, &bob, &url, &big, &big_sha).await;

    alice.quit().await;
    bob.quit().await;
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// Alice sends the big file and Bob accepts; returns once 15 MB have
/// arrived, for a cut to come mid-way.
async fn big_file_under_way(alice: &Browser, bob: &Browser, big: &Path) {
    send_files(alice, "Bob", &[big]).await;
    bob.press("Accept the files from Alice").await;
    bob.wait_for_within(
        "15 MB received",
        &format!("{NEWEST}.done > 15000000"),
        Duration::from_secs(30),
    )
    .await;
}

/// An nft table `table` whose output chain drops what each rule matches.
fn cut(table: &str, rules: &[String]) {
    nft(&format!("add table inet {table}"));
    nft(&format!(
        "add chain inet {table} out '{{ type filter hook output priority 0; }}'"
    ));
    for rule in rules {
        nft(&format!("add rule inet {table} out {rule}"));
    }
}

/// After the cut made by `table`: the transfer completes on both sides
/// (the cut is lifted once it has), Bob's file has the sender's hash, and
/// it went on from what Bob had instead of starting over.
async fn completes_resumed(alice: &Browser, bob: &Browser, big_sha: &str, table: &str) {
    wait_state(bob, "done", Duration::from_secs(90)).await;
    wait_state(alice, "done", Duration::from_secs(10)).await;
    nft(&format!("delete table inet {table}"));
    assert_eq!(received_hashes(bob).await, vec![big_sha.to_string()]);
    let resumed = newest(alice, "resumedFrom").await.as_f64().unwrap();
    assert!(
        resumed >= 8_388_608.0,
        "after the {table}, the transfer started over instead of resuming (from {resumed})"
    );
    eprintln!(
        "after the {table}: resumed from {resumed} bytes, via {}",
        newest(alice, "via").await
    );
}

/// The direct link and both pages' signaling cut mid-transfer, the way a
/// Wi-Fi outage cuts a whole room: every packet of the pages' open TCP
/// connections to the server vanishes, and UDP with them, with no reset or
/// close on either side. Each page's heartbeat finds its socket silent and
/// connects again with a new id; the server, which still holds the old
/// sockets, hears each prove its old one. Each page lists the other once,
/// under its new id, and the transfer goes on from what Bob had, with the
/// right hash.
async fn whole_room_blip(alice: &Browser, bob: &Browser, url: &str, big: &Path, big_sha: &str) {
    let port = url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    big_file_under_way(alice, bob, big).await;
    let ids = [
        alice.js("return window.lanrtc.selfId;").await,
        bob.js("return window.lanrtc.selfId;").await,
    ];
    // The browsers' ends of their connections to the server, now.
    let listed = Command::new("ss")
        .args([
            "-Htn",
            "state",
            "established",
            "dport",
            "=",
            &format!(":{port}"),
        ])
        .output()
        .unwrap();
    let ports: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter_map(|line| {
            line.split_whitespace()
                .nth(2)?
                .rsplit(':')
                .next()
                .map(String::from)
        })
        .collect();
    assert!(ports.len() >= 2, "the pages' sockets: {listed:?}");
    let ports = ports.join(", ");
    cut(
        "blip",
        &[
            "meta l4proto udp drop".into(),
            format!("tcp sport '{{ {ports} }}' drop"),
            format!("tcp dport '{{ {ports} }}' drop"),
        ],
    );
    for (b, id) in [alice, bob].into_iter().zip(&ids) {
        b.wait_for_within(
            "signaling back with a new id",
            &format!("window.lanrtc.selfId !== null && window.lanrtc.selfId !== {id}"),
            Duration::from_secs(75),
        )
        .await;
    }
    // Listed once each, at once: not the dead connection beside the new one.
    for (b, other) in [(alice, "Bob"), (bob, "Alice")] {
        b.wait_for_within(
            &format!("{other} listed once"),
            &format!(
                "document.querySelectorAll('[aria-label=\"Send files to {other}\"]').length === 1"
            ),
            Duration::from_secs(5),
        )
        .await;
    }
    completes_resumed(alice, bob, big_sha, "blip").await;
}

/// Files dropped onto Bob's entry, saved into a folder Bob picks; then a
/// folder sent with "Send a folder".
async fn drop_and_folders(alice: &Browser, bob: &Browser, root: &Path) {
    // The browser's folder picker cannot be driven here, so Bob's
    // showDirectoryPicker answers with a folder of the origin-private file
    // system: a real FileSystemDirectoryHandle, written through the same
    // calls. A file named like one of those coming is there already.
    bob.js(
        "window.showDirectoryPicker = async () => { \
           const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('picked', { create: true }); \
           const w = await (await dir.getFileHandle('dropped.txt', { create: true })).createWritable(); \
           await w.write('mine'); await w.close(); return dir; }; return true;",
    )
    .await;
    let marked = alice
        .js(
            "const li = [...document.querySelectorAll('#peers li.peer')].find((l) => l.textContent.includes('Bob')); \
               const dt = new DataTransfer(); \
               dt.items.add(new File(['hello from a drop'], 'dropped.txt', { type: 'text/plain' })); \
               dt.items.add(new File([new Uint8Array(300000).fill(9)], 'pattern.bin')); \
               li.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true })); \
               const marked = li.classList.contains('drop-target'); \
               li.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true })); \
               return marked;",
        )
        .await;
    assert_eq!(
        marked,
        Value::Bool(true),
        "the entry did not show it takes the drop"
    );
    bob.wait_for(
        "the question for the dropped files",
        "document.body.innerText.includes('Alice wants to send you 2 files')",
    )
    .await;
    // On the phone, scrolled down to the devices, the question comes into
    // view by itself, and the tab's title says it.
    let seen = bob
        .js(
            "const b = [...document.querySelectorAll('#transfers button')].find((x) => x.textContent === 'Accept'); \
             const r = b.getBoundingClientRect(); \
             return [r.top >= 0 && r.bottom <= innerHeight, document.title];",
        )
        .await;
    assert_eq!(
        seen,
        serde_json::json!([true, "Alice wants to send you files \u{b7} lanrtc"]),
        "the question is out of sight"
    );
    save_screenshot(bob, "files-question-phone").await;
    bob.press("Accept the files from Alice into a folder").await;
    wait_state(bob, "done", Duration::from_secs(20)).await;
    let folder = bob
        .js(
            "return (async () => { const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('picked'); \
               const out = {}; for await (const [name, h] of dir.entries()) { \
               const d = new Uint8Array(await crypto.subtle.digest('SHA-256', await (await h.getFile()).arrayBuffer())); \
               out[name] = Array.from(d, (x) => x.toString(16).padStart(2, '0')).join(''); } return out; })();",
        )
        .await;
    assert_eq!(
        folder,
        serde_json::json!({
            "dropped.txt": e2e::sha256_hex(b"mine"),
            "dropped (1).txt": e2e::sha256_hex(b"hello from a drop"),
            "pattern.bin": e2e::sha256_hex(&[9u8; 300000]),
        }),
        "the picked folder holds other files than sent (or leftovers)"
    );
    let item = bob
        .js(&format!(
            "const li = document.querySelector(`#transfers li[data-transfer='${{{NEWEST}.id}}']`); \
               return [li.innerText, li.querySelectorAll('a.save').length];"
        ))
        .await;
    assert!(
        item[0]
            .as_str()
            .unwrap()
            .contains("Saved in picked as dropped (1).txt"),
        "{item}"
    );
    assert_eq!(item[1], 0, "files saved into a folder still get Save links");

    // A folder, with a folder inside it.
    let album = root.join("album");
    std::fs::create_dir_all(album.join("day 2")).unwrap();
    let mut want: Vec<String> = vec![
        make_file(&album, "beach.jpg", 200_000, 21).1,
        make_file(&album.join("day 2"), "boat.jpg", 150_000, 22).1,
    ];
    want.sort();
    alice.press("Send a folder to Bob").await;
    alice
        .client
        .find(Locator::Id("folder-input"))
        .await
        .unwrap()
        .send_keys(&album.display().to_string())
        .await
        .unwrap();
    bob.wait_for(
        "the question for the folder",
        "document.body.innerText.includes('Alice wants to send you 2 files')",
    )
    .await;
    bob.press("Accept the files from Alice").await;
    wait_state(bob, "done", Duration::from_secs(20)).await;
    let mut got = received_hashes(bob).await;
    got.sort();
    assert_eq!(got, want);
}

async fn save_screenshot(b: &Browser, name: &str) {
    if let Ok(png) = b.client.screenshot().await {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let _ = std::fs::write(dir.join(format!("{name}.png")), png);
    }
}

// ---- client isolation: two namespaces that reach the server's, not each other ----

#[test]
fn isolated_clients_send_files_through_the_appliance() {
    e2e::run_isolated(
        "the isolated-clients transfer test",
        "iso",
        "isolated_inside_namespace",
        Duration::from_secs(150),
    );
}

#[test]
#[ignore = "run by isolated_clients_send_files_through_the_appliance inside its namespaces"]
fn isolated_inside_namespace() {
    e2e::run_inner(isolated);
}

async fn isolated() {
    let root = tempfile::tempdir().unwrap();
    let (file, sha) = make_file(root.path(), "report.pdf", 8_000_000, 9);
    let (alice, bob, stop, server) = e2e::isolated_pair(root.path()).await;

    send_files(&alice, "Bob", &[&file]).await;
    bob.wait_for_within(
        "the question",
        "document.body.innerText.includes('Alice wants to send you report.pdf')",
        Duration::from_secs(20),
    )
    .await;
    bob.press("Accept the files from Alice").await;
    wait_state(&bob, "done", Duration::from_secs(40)).await;
    wait_state(&alice, "done", Duration::from_secs(10)).await;
    assert_eq!(received_hashes(&bob).await, vec![sha]);
    for b in [&alice, &bob] {
        assert_eq!(newest(b, "via").await, "appliance", "{}", b.name);
        let shown = b
            .js("return document.getElementById('transfers').innerText;")
            .await;
        assert!(
            shown.as_str().unwrap().contains("through the appliance"),
            "{}: {shown}",
            b.name
        );
    }
    save_screenshot(&alice, "files-through-the-appliance").await;

    alice.quit().await;
    bob.quit().await;
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
