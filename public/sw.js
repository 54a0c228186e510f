// The app's service worker: with it, the app can sit on a phone's home
// screen and still open its page when the appliance is off or out of reach
// (the page then says it is connecting, instead of a browser error page).
// Network first, always: a reachable appliance is asked every time, so live
// reload and new versions behave exactly as without a worker; the cache is
// only the fallback. Only the app shell is kept; signaling, media, WHIP,
// metrics and everything else go straight to the network.
'use strict';

const CACHE = 'lanrtc-shell';

/**
 * A page load that has not answered in this long falls back to the copy:
 * an appliance out of reach (the phone on another network) often drops
 * packets silently, and a TCP connect timeout is far longer than a person
 * waits.
 */
const NAVIGATION_DEADLINE_MS = 4000;

/** `promise`, or a rejection after `ms` (none when `ms` is 0). */
function withDeadline(promise, ms) {
  if (!ms) return promise;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer in time')), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** Whether a same-origin GET path belongs to the app shell. */
function isShell(path) {
  return (
    path === '/' ||
    path === '/style.css' ||
    path === '/boot.js' ||
    path === '/favicon.svg' ||
    path === '/manifest.webmanifest' ||
    path.startsWith('/js/') ||
    path.startsWith('/icons/')
  );
}

self.addEventListener('install', () => self.skipWaiting());

// The page that registered the worker was loaded before it: it tells the
// worker which of its files to keep, so the very next visit can fall back.
self.addEventListener('message', (event) => {
  const data = event.data;
  if (!data || data.type !== 'keep' || !Array.isArray(data.paths)) return;
  const paths = data.paths.filter((p) => typeof p === 'string' && isShell(p)).slice(0, 100);
  event.waitUntil(
    caches.open(CACHE).then((cache) =>
      Promise.all(
        paths.map((path) =>
          fetch(path, { credentials: 'same-origin' }).then(
            (response) => (response.ok ? cache.put(path, response) : undefined),
            () => undefined,
          ),
        ),
      ),
    ),
  );
});
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const navigation = request.mode === 'navigate';
  // Room pages are the app itself; a key in the address is the access flow's.
  const room = /^\/r\/[^/]+\/?$/.test(url.pathname);
  if (!isShell(url.pathname) && !room) return;
  if (navigation && url.searchParams.has('key')) return;
  event.respondWith(
    withDeadline(fetch(request), navigation ? NAVIGATION_DEADLINE_MS : 0).then(
      (response) => {
        if (response.ok && response.type === 'basic') {
          const copy = response.clone();
          const key = room ? '/' : url.pathname;
          caches.open(CACHE).then((cache) => cache.put(key, copy));
        }
        return response;
      },
      async (err) => {
        const cached = await caches.match(room || navigation ? '/' : url.pathname);
        if (cached) return cached;
        throw err;
      },
    ),
  );
});
