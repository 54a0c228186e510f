// The two panels of a live stream: #live, what a broadcaster sees (its own
// preview, who is watching, Stop live), and #watch, what a viewer sees (the
// stream, whose it is, Stop watching).

import { createVideoView } from './videoView.js';

/**
 * @param {object} els  {root, preview, audience, stop}
 * @param {() => void} onStop
 */
export function createLivePanel({ root, preview, audience, stop }, onStop) {
  stop.addEventListener('click', onStop);
  return {
    /** @param {{stream: MediaStream, text: string} | null} live */
    render(live) {
      root.hidden = !live;
      const stream = live ? live.stream : null;
      if (preview.srcObject !== stream) preview.srcObject = stream;
      audience.textContent = live ? live.text : '';
    },
  };
}

/**
 * @param {object} els  {root, video, title, state, stop, play, fullscreen, pip}
 * @param {() => void} onStop
 */
export function createWatchPanel({ root, video, title, state, stop, play, fullscreen, pip }, onStop) {
  stop.addEventListener('click', onStop);
  const view = createVideoView(video, { play, fullscreen, pip });
  return {
    /** @param {{name: string, stream: MediaStream | null, playing: boolean, via: string | null} | null} watching */
    render(watching) {
      root.hidden = !watching;
      view.show(watching ? watching.stream : null);
      title.textContent = watching ? `Watching ${watching.name}` : '';
      const now = watching && watching.playing ? 'connected' : 'connecting';
      state.textContent = watching ? pathText(now, watching.via, watching.name) : '';
      state.dataset.state = now;
      state.dataset.via = (watching && watching.via) || '';
    },
  };
}

/** What the viewer is told about the stream's path. */
function pathText(state, via, name) {
  if (state !== 'connected') return 'Connecting\u2026';
  return via === 'appliance' ? 'Through the appliance' : `Directly from ${name}\u2019s device`;
}
