//! Live reload: watches the asset directory and, when the served files'
//! content changes, tells every connected client with a fresh `ready`
//! carrying the new version (and which files changed, so our page can swap
//! stylesheets in place instead of reloading).
//!
//! notify's debouncer runs on its own thread and coalesces an editor's burst
//! of writes; its callback only does a non-blocking `try_send` on a one-slot
//! channel ("something changed"), so it never waits on the async side. The
//! async task then re-hashes the files and compares versions, which is what
//! makes saving an unchanged file, or touching it, send nothing.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use notify_debouncer_full::notify::RecursiveMode;
use notify_debouncer_full::{new_debouncer, DebounceEventResult};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::assets::{is_editor_dropping, Assets, Manifest};
use crate::rtc::Hub;

/// How long the debouncer waits for a burst of writes to settle. Editors
/// write a file in a few steps within milliseconds; 50 ms catches those and
/// keeps the write-to-reload time well under the 300 ms we aim for.
const DEBOUNCE: Duration = Duration::from_millis(50);

/// Starts watching `root`; the returned task runs until aborted.
pub fn spawn(root: PathBuf, assets: Assets, hub: Hub, initial: Manifest) -> Result<JoinHandle<()>> {
    // One slot: a pending "something changed" already covers any later one.
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let mut debouncer =
        new_debouncer(
            DEBOUNCE,
            None,
            move |result: DebounceEventResult| match result {
                Ok(events) => {
                    let relevant = events
                        .iter()
                        .flat_map(|e| e.paths.iter())
                        .any(|p| !is_editor_dropping(p));
                    if relevant {
                        let _ = tx.try_send(());
                    }
                }
                Err(errors) => warn!(?errors, "watching the app's files failed"),
            },
        )
        .context("could not start watching the app's files for live reload")?;
    debouncer
        .watch(&root, RecursiveMode::Recursive)
        .with_context(|| format!("could not watch {} for live reload", root.display()))?;
    info!(dir = %root.display(), "live reload: watching for changes");

    Ok(tokio::spawn(async move {
        // Owned by the task: dropping it (when the task is aborted) stops the
        // watcher thread.
        let _debouncer = debouncer;
        let mut current = initial;
        while rx.recv().await.is_some() {
            let next = assets.manifest().await;
            if next.version == current.version {
                debug!("live reload: files touched but their content is unchanged");
                continue;
            }
            let changed = current.changed(&next);
            info!(version = %next.version, ?changed, "live reload: app files changed");
            hub.new_version(&next.version, &changed);
            current = next;
        }
    }))
}
