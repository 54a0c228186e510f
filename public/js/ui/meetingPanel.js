// The meeting panel (#meeting): one tile per member, ourselves included,
// in a grid that fits the screen; on a phone the active speaker large and
// the others in a strip below. Every tile has the name, a mark when the
// microphone is off and, when the camera is off, a placeholder with the
// name instead of a black box. The active speaker's tile is outlined;
// tapping a tile keeps it large (again to let go). A shared screen is
// shown large for everyone.

import { countText, focusOf, gridFor } from '../logic/meeting.js';
import { initials } from '../logic/names.js';

/** Narrower than this, the layout is a phone's. */
const PHONE_WIDTH = 700;

/**
 * @param {object} els  {root, grid, count, mute, camera, share, leave, play}
 * @param {object} on  {mute(), camera(), share(), leave(), pin(id)}
 */
export function createMeetingPanel(els, on) {
  /** id -> {figure, video, off, offName, offInitials, name, mark, stream} */
  const tiles = new Map();

  els.mute.addEventListener('click', () => on.mute());
  els.camera.addEventListener('click', () => on.camera());
  els.share.addEventListener('click', () => on.share());
  els.leave.addEventListener('click', () => on.leave());
  els.play.addEventListener('click', () => {
    for (const t of tiles.values()) play(t);
    els.play.hidden = true;
  });
  if (typeof navigator === 'undefined' || !navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia) {
    els.share.remove();
  }

  function play(tile) {
    const p = tile.video.play();
    if (p && typeof p.catch === 'function') {
      p.catch((err) => {
        // A newer stream interrupts the old play(): not a refusal. Anything
        // else is the browser wanting a tap first.
        if (err && err.name !== 'AbortError') els.play.hidden = false;
      });
    }
  }

  function tile(id, self) {
    let t = tiles.get(id);
    if (t) return t;
    const figure = document.createElement('figure');
    figure.className = 'tile';
    figure.dataset.peer = id;
    figure.tabIndex = 0;
    figure.setAttribute('role', 'button');
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    // Our own tile plays our microphone to nobody.
    if (self) {
      video.muted = true;
      video.classList.add('mirrored');
    }
    const off = document.createElement('div');
    off.className = 'camera-off';
    const offInitials = document.createElement('span');
    offInitials.className = 'avatar';
    offInitials.setAttribute('aria-hidden', 'true');
    const offName = document.createElement('span');
    off.append(offInitials, offName);
    const caption = document.createElement('figcaption');
    const name = document.createElement('span');
    name.className = 'tile-name';
    const mark = document.createElement('span');
    mark.className = 'muted-mark';
    mark.textContent = 'Mic off';
    mark.setAttribute('aria-label', 'Microphone off');
    caption.append(name, mark);
    figure.append(video, off, caption);
    const pin = () => on.pin(id);
    figure.addEventListener('click', pin);
    figure.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        pin();
      }
    });
    t = { figure, video, off, offName, offInitials, name, mark, stream: null };
    tiles.set(id, t);
    return t;
  }

  return {
    /** Each other member's tile width in device pixels, by id. */
    tileWidths(selfId) {
      const out = {};
      const ratio = window.devicePixelRatio || 1;
      for (const [id, t] of tiles) {
        if (id !== selfId) out[id] = Math.round(t.figure.clientWidth * ratio);
      }
      return out;
    },

    /**
     * @param {object|null} props  null when we are not in a meeting; else
     *   {members, selfId, speaker, pinned, nameOf(id), streamOf(id), preview,
     *    muted, cameraOff, sharing}
     */
    render(props) {
      els.root.hidden = props === null;
      if (props === null) {
        for (const t of tiles.values()) {
          t.video.srcObject = null;
          t.figure.remove();
        }
        tiles.clear();
        return;
      }
      const { members, selfId, speaker, pinned } = props;
      const phone = window.innerWidth < PHONE_WIDTH;
      // Until the server's first word, we are the meeting.
      const shown = members.some((m) => m.id === selfId)
        ? members
        : [{ id: selfId, muted: props.muted, camera: !props.cameraOff, screen: props.sharing }, ...members];
      const ids = new Set(shown.map((m) => m.id));
      for (const [id, t] of tiles) {
        if (!ids.has(id)) {
          t.video.srcObject = null;
          t.figure.remove();
          tiles.delete(id);
        }
      }
      const focus = focusOf({ members: shown, selfId, pinned, speaker, phone });
      els.root.dataset.layout = focus ? 'focus' : 'grid';
      const order = focus ? [shown.find((m) => m.id === focus), ...shown.filter((m) => m.id !== focus)] : shown;
      order.forEach((m, i) => {
        const self = m.id === selfId;
        const t = tile(m.id, self);
        // Our own flags are what we did, not what the server echoed yet.
        const muted = self ? props.muted : m.muted;
        const cameraOff = self ? props.cameraOff && !props.sharing : !m.camera && !m.screen;
        const stream = self ? props.preview : props.streamOf(m.id);
        if (t.stream !== stream) {
          t.stream = stream;
          t.video.srcObject = stream;
          if (stream) play(t);
        }
        if (self) t.video.classList.toggle('mirrored', !props.sharing);
        const name = self ? `${props.nameOf(m.id)} (you)` : props.nameOf(m.id);
        if (t.name.textContent !== name) {
          t.name.textContent = name;
          t.offInitials.textContent = initials(props.nameOf(m.id));
        }
        t.mark.hidden = !muted;
        t.off.hidden = !cameraOff && stream !== null;
        if (!cameraOff && stream === null) t.offName.textContent = `${name}: connecting\u2026`;
        else t.offName.textContent = name;
        t.figure.dataset.speaking = String(m.id === speaker);
        t.figure.dataset.muted = String(muted);
        t.figure.dataset.cameraOff = String(cameraOff);
        t.figure.classList.toggle('focused', m.id === focus);
        t.figure.setAttribute('aria-pressed', String(m.id === pinned));
        t.figure.setAttribute('aria-label', `${name}${muted ? ', microphone off' : ''}${cameraOff ? ', camera off' : ''}`);
        if (els.grid.children[i] !== t.figure) els.grid.insertBefore(t.figure, els.grid.children[i] || null);
      });
      const gridTiles = focus ? 1 : order.length;
      // The grid fits the width and about two thirds of the window's height
      // (the controls stay in view); not its own height, which follows it.
      const width = els.root.getBoundingClientRect().width || window.innerWidth;
      const { columns, tileWidth } = gridFor(gridTiles, width, window.innerHeight * 0.68);
      els.grid.style.setProperty('--columns', String(columns));
      els.grid.style.maxWidth = focus ? '' : `${columns * tileWidth + (columns - 1) * 8}px`;
      els.count.textContent = `${countText(order.length)} \u00b7 through the appliance`;
      els.mute.textContent = props.muted ? 'Unmute' : 'Mute';
      els.mute.setAttribute('aria-pressed', String(props.muted));
      els.camera.textContent = props.cameraOff ? 'Camera on' : 'Camera off';
      els.camera.setAttribute('aria-pressed', String(props.cameraOff));
      els.share.textContent = props.sharing ? 'Stop sharing' : 'Share screen';
      els.share.setAttribute('aria-pressed', String(props.sharing));
    },
  };
}
