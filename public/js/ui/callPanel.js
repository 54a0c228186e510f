// The call view: remote video (large), local preview (small), the timer,
// the connection state, and the call controls.

import { connectionText } from '../logic/callState.js';
import { formatDuration } from '../logic/clock.js';
import { initials } from '../logic/names.js';
import { createVideoView } from './videoView.js';

/**
 * The timer redraws this often; a whole second would let the display trail
 * the real time by up to a second, since ticks are not aligned to the start.
 */
const TICK_MS = 250;

/**
 * @param {object} els  {root, peerName, remoteVideo, localVideo, timer,
 *   connection, mute, camera, switchCamera, share, hangup, cancel,
 *   remoteMuted, remoteOff, remoteOffText, remoteOffInitials, remotePlay,
 *   fullscreen, pip, addSomeone}
 * @param {object} handlers  {onMute, onCamera, onSwitchCamera, onShare, onHangup, onCancel, onAddSomeone}
 */
export function createCallPanel(els, handlers) {
  const { root, peerName, remoteVideo, localVideo, timer, connection } = els;
  els.mute.addEventListener('click', handlers.onMute);
  els.camera.addEventListener('click', handlers.onCamera);
  els.switchCamera.addEventListener('click', handlers.onSwitchCamera);
  els.share.addEventListener('click', handlers.onShare);
  els.hangup.addEventListener('click', handlers.onHangup);
  els.addSomeone.addEventListener('click', handlers.onAddSomeone);
  els.cancel.addEventListener('click', handlers.onCancel);
  // The attribute is in the page too; the property is what browsers obey.
  localVideo.muted = true;
  const remote = createVideoView(remoteVideo, {
    play: els.remotePlay,
    fullscreen: els.fullscreen,
    pip: els.pip,
  });
  // Tapping the small picture swaps it with the big one.
  const stage = remoteVideo.parentElement;
  for (const video of [localVideo, remoteVideo]) {
    video.addEventListener('click', () => {
      const small = stage.classList.contains('swapped') ? remoteVideo : localVideo;
      if (video === small && !localVideo.hidden) stage.classList.toggle('swapped');
    });
  }

  let ticker = null;
  let startedAt = null;

  function tick() {
    const text = formatDuration(startedAt === null ? 0 : Date.now() - startedAt);
    if (timer.textContent !== text) timer.textContent = text;
  }

  function attach(video, stream) {
    if (video.srcObject !== stream) video.srcObject = stream;
    if (stream) {
      // Autoplay can be refused until the page is interacted with; the call
      // button or Accept counts, so this normally succeeds.
      const played = video.play();
      if (played && typeof played.catch === 'function') played.catch(() => {});
    }
  }

  function show(el, visible) {
    el.hidden = !visible;
  }

  return {
    setLocalStream(stream, { mirrored }) {
      attach(localVideo, stream);
      localVideo.hidden = !stream;
      localVideo.classList.toggle('mirrored', Boolean(mirrored));
    },

    setRemoteStream(stream) {
      remote.show(stream);
    },

    /**
     * @param {object} props  {state, peerName, media, connection, poor, connectedAt}
     *   poor: the link loses packets or lags (logic/quality.js)
     *   media: the session's mediaState(), or null before there is one
     */
    render({ state, peerName: name, media, connection: connectionState, poor, connectedAt, canAddSomeone, via }) {
      const visible = state === 'calling' || state === 'in-call';
      root.hidden = !visible;
      if (!visible) {
        clearInterval(ticker);
        ticker = null;
        startedAt = null;
        timer.textContent = formatDuration(0);
        connection.textContent = connectionText('new');
        stage.classList.remove('swapped');
        // The streams stay attached: a callee's camera opens while the panel
        // is still hidden (ringing), and teardown detaches them explicitly.
        return;
      }
      if (peerName.textContent !== name) peerName.textContent = name;
      // While the other side has not answered, the stage shows one's own
      // camera under the callee's name: say it rings, not that it connects.
      const words =
        state === 'calling'
          ? 'Ringing…'
          : connectionState === 'connected' && via === 'appliance'
            ? `${connectionText(connectionState, poor)} through the appliance`
            : connectionText(connectionState, poor);
      if (connection.textContent !== words) connection.textContent = words;
      connection.dataset.state = connectionState === 'connected' && poor ? 'poor' : connectionState;

      startedAt = state === 'in-call' ? connectedAt : null;
      if (state === 'in-call' && ticker === null) ticker = setInterval(tick, TICK_MS);
      tick();

      const inCall = state === 'in-call';
      const m = media || {};
      show(els.cancel, state === 'calling');
      show(els.hangup, inCall);
      show(els.addSomeone, inCall && Boolean(canAddSomeone));
      show(els.mute, inCall && m.hasAudio);
      show(els.camera, inCall && m.hasVideo);
      show(els.switchCamera, inCall && m.canSwitch);
      show(els.share, inCall && m.canShare);
      // Toggles keep their label and place; pressed means on.
      els.mute.setAttribute('aria-pressed', String(Boolean(m.muted)));
      els.camera.setAttribute('aria-pressed', String(Boolean(m.cameraOff)));
      els.share.setAttribute('aria-pressed', String(Boolean(m.sharing)));
      // The other side's microphone and camera, as it reports them.
      show(els.remoteMuted, inCall && Boolean(m.remoteMuted));
      const off = inCall && Boolean(m.remoteCameraOff);
      show(els.remoteOff, off);
      if (off) {
        const text = `${name}: camera off`;
        if (els.remoteOffText.textContent !== text) els.remoteOffText.textContent = text;
        els.remoteOffInitials.textContent = initials(name);
      }
      els.switchCamera.disabled = Boolean(m.busy);
      els.share.disabled = Boolean(m.busy);
    },
  };
}
