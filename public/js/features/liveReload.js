// Live reload: every `ready` carries the app's version; a new one means
// the served files changed. Only stylesheets: they are swapped in place and
// a call goes on. Anything else: the page ends what runs cleanly (the
// `leave` callback, true when a call had to hang up first) and reloads.

import { bustedHref, reloadPlan } from '../logic/reload.js';

/** Time for a hang-up to leave before a live reload replaces the page. */
const RELOAD_DELAY_MS = 500;

/** While something that a reload would lose is there, look again this often. */
const BUSY_RETRY_MS = 2000;

/**
 * @param {() => boolean} leave  ends calls and streams; true when a hang-up must go out first
 * @param {() => boolean} busy  true while a reload would lose something (a
 *   file transfer, received files not yet dismissed): the reload waits
 */
export function createLiveReload(leave, busy = () => false) {
  let loaded = null;
  let reloading = false;

  function swapStylesheets(version) {
    loaded = version;
    for (const link of document.querySelectorAll('link[rel="stylesheet"]')) {
      const next = link.cloneNode();
      next.href = bustedHref(link.getAttribute('href'), version, location.href);
      // Remove the old sheet once the new one applies, so nothing flashes.
      next.addEventListener('load', () => link.remove(), { once: true });
      next.addEventListener('error', () => next.remove(), { once: true });
      link.after(next);
    }
  }

  function reload() {
    if (reloading) return;
    if (busy()) {
      setTimeout(reload, BUSY_RETRY_MS);
      return;
    }
    reloading = true;
    if (leave()) setTimeout(() => location.reload(), RELOAD_DELAY_MS);
    else location.reload();
  }

  return {
    /** A `ready` (the first, a reconnect's, or a new version's). */
    onReady(message) {
      if (typeof message.version !== 'string') return;
      if (loaded === null) loaded = message.version;
      else if (message.version !== loaded) {
        if (reloadPlan(message.changed) === 'css') swapStylesheets(message.version);
        else reload();
      }
    },
  };
}
