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

/// How long notify's debouncer gathers events before passing them on. It
/// only merges events per path, so it is kept short; the settling below
/// decides when to reload.
const DEBOUNCE: Duration = Duration::from_millis(20);
/// A burst is over once the tree has been quiet this long: a formatter that
/// rewrites a file in steps, or `git checkout` writing many files, produces
/// one reload rather than one per write (measured from outside before this:
/// ten writes 9 ms apart reloaded every device five times).
const QUIET: Duration = Duration::from_millis(100);
/// ...but a tree that never goes quiet (a build writing for seconds) still
/// reloads this long after its first change.
const MAX_SETTLE: Duration = Duration::from_secs(1);

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
            if !settle(&mut rx).await {
                return;
            }
            let next = assets.manifest().await;
            if next.version == current.version {
                debug!("live reload: files touched but their content is unchanged");
                continue;
            }
            let changed = current.changed(&next);
            info!(version = %next.version, ?changed, "live reload: app files changed");
            hub.new_version(&next.version, &changed);
            hub.metrics().reloads.inc();
            current = next;
        }
    }))
}

/// Waits until no change has been signalled for [`QUIET`], or [`MAX_SETTLE`]
/// has passed since the first. False when the watcher is gone.
async fn settle(rx: &mut mpsc::Receiver<()>) -> bool {
    let deadline = tokio::time::Instant::now() + MAX_SETTLE;
    loop {
        let quiet_until = (tokio::time::Instant::now() + QUIET).min(deadline);
        match tokio::time::timeout_at(quiet_until, rx.recv()).await {
            Ok(Some(())) if tokio::time::Instant::now() < deadline => continue,
            Ok(Some(())) | Err(_) => return true,
            Ok(None) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_settles_after_a_quiet_spell_or_the_deadline() {
        let (tx, mut rx) = mpsc::channel(1);
        // Events every 50 ms for 300 ms: settled 100 ms after the last.
        let feeder = tokio::spawn({
            let tx = tx.clone();
            async move {
                for _ in 0..6 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let _ = tx.try_send(());
                }
            }
        });
        let start = tokio::time::Instant::now();
        assert!(settle(&mut rx).await);
        assert_eq!(start.elapsed(), Duration::from_millis(400));
        feeder.await.unwrap();

        // A change every 50 ms forever: settled at the deadline all the same.
        let feeder = tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                if tx.send(()).await.is_err() {
                    return;
                }
            }
        });
        let start = tokio::time::Instant::now();
        assert!(settle(&mut rx).await);
        assert_eq!(start.elapsed(), MAX_SETTLE);
        feeder.abort();
    }
}
