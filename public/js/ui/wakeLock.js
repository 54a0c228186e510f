// Keeps the screen on while a call or a live stream is running (Screen Wake
// Lock API), and lets it sleep again afterwards. A lock is dropped by the
// browser when the page is hidden, so it is asked for again on return.
// Browsers without the API simply keep their usual timeout.

export function createWakeLock() {
  let wanted = false;
  let lock = null;
  let asking = false;

  async function acquire() {
    if (!wanted || lock || asking || document.hidden) return;
    if (!navigator.wakeLock || typeof navigator.wakeLock.request !== 'function') return;
    asking = true;
    try {
      const got = await navigator.wakeLock.request('screen');
      if (wanted) {
        lock = got;
        lock.addEventListener('release', () => {
          if (lock === got) lock = null;
        });
      } else {
        got.release().catch(() => {});
      }
    } catch {
      // Refused (battery saver, no user activation yet): the screen may dim.
    } finally {
      asking = false;
    }
  }

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') acquire();
  });

  return {
    /** Holds the lock while `on`. */
    render(on) {
      if (on === wanted) return;
      wanted = on;
      if (on) acquire();
      else if (lock) {
        const held = lock;
        lock = null;
        held.release().catch(() => {});
      }
    },

    /** For diagnostics and the browser tests. */
    get held() {
      return lock !== null && !lock.released;
    },
  };
}
