// The two panels of a live stream: #live, what a broadcaster sees (its own
// preview, who is watching, Stop live), and #watch, what a viewer sees (the
// stream, whose it is, Stop watching).

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
 * @param {object} els  {root, video, title, state, stop}
 * @param {() => void} onStop
 */
export function createWatchPanel({ root, video, title, state, stop }, onStop) {
  stop.addEventListener('click', onStop);
  return {
    /** @param {{name: string, stream: MediaStream | null, playing: boolean, via: string | null} | null} watching */
    render(watching) {
      root.hidden = !watching;
      const stream = watching ? watching.stream : null;
      if (video.srcObject !== stream) video.srcObject = stream;
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
