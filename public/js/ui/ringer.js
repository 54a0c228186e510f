// The sound of an incoming call: a generated two-tone ring (Web Audio, no
// file to fetch), a vibration where the device has one, and a system
// notification when the page is hidden (another tab, a locked screen), so a
// call is not missed in silence. Everything stops when the ringing does.

/** One ring: two short bursts, then a pause; repeated while ringing. */
const RING_PERIOD_MS = 3000;
const BURSTS = [
  [0, 0.4],
  [0.6, 1.0],
];
/** Two tones together, as a telephone's ring (Hz). */
const TONES = [440, 480];
const VIBRATION = [400, 200, 400];

export function createRinger() {
  let context = null;
  let timer = null;
  let notification = null;
  let ringing = false;

  function ring() {
    if (context && context.state === 'running') {
      const now = context.currentTime;
      const gain = context.createGain();
      gain.gain.setValueAtTime(0, now);
      for (const [from, to] of BURSTS) {
        gain.gain.setValueAtTime(0, now + from);
        gain.gain.linearRampToValueAtTime(0.18, now + from + 0.02);
        gain.gain.setValueAtTime(0.18, now + to - 0.02);
        gain.gain.linearRampToValueAtTime(0, now + to);
      }
      gain.connect(context.destination);
      for (const hz of TONES) {
        const osc = context.createOscillator();
        osc.frequency.value = hz;
        osc.connect(gain);
        osc.start(now);
        osc.stop(now + BURSTS[BURSTS.length - 1][1] + 0.05);
      }
    }
    if (typeof navigator.vibrate === 'function') navigator.vibrate(VIBRATION);
  }

  function start(name) {
    ringing = true;
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!context && Context) {
      try {
        context = new Context();
      } catch {
        context = null;
      }
    }
    // Browsers start an audio context suspended until the page has been
    // used; a page that was (a name typed, a click) may resume it.
    const resumed = context && context.state !== 'running' ? context.resume() : null;
    if (resumed && typeof resumed.then === 'function') {
      resumed.then(() => ringing && ring(), () => {});
    }
    ring();
    timer = setInterval(ring, RING_PERIOD_MS);
    if (document.hidden && 'Notification' in window && Notification.permission === 'granted') {
      try {
        notification = new Notification(`${name} is calling`, {
          body: 'Open lanrtc to answer.',
          tag: 'lanrtc-incoming',
          requireInteraction: true,
        });
        notification.onclick = () => {
          window.focus();
          notification.close();
        };
      } catch {
        notification = null; // Android Chrome only allows them from a service worker
      }
    }
  }

  function stop() {
    ringing = false;
    clearInterval(timer);
    timer = null;
    if (typeof navigator.vibrate === 'function') navigator.vibrate(0);
    if (notification) notification.close();
    notification = null;
    // Suspend rather than close: the next call rings without a new context.
    if (context && context.state === 'running') context.suspend().catch(() => {});
  }

  return {
    /** Rings while `on`; `name` is the caller's. */
    render(on, name) {
      if (on && !ringing) start(name);
      else if (!on && ringing) stop();
    },

    /** Asks for notification permission once, when the person is making or taking calls. */
    askForNotifications() {
      if ('Notification' in window && Notification.permission === 'default') {
        const asked = Notification.requestPermission();
        if (asked && typeof asked.catch === 'function') asked.catch(() => {});
      }
    },

    /** For diagnostics and the browser tests. */
    get state() {
      return {
        ringing,
        tone: context ? context.state : 'none',
        notification: Boolean(notification),
      };
    },
  };
}
