// The list of other devices (#peers): Call, Send files and Send text for
// each (files and folders can also be dropped onto a device's entry, and a folder sent
// where the browser can pick one), and for a peer who is live a badge and a
// Watch button. When the list is empty,
// #peers-empty explains how to join from another device; when it is not,
// #invite keeps the same link and QR code one click away.

import { initials } from '../logic/names.js';
import { MAX_FILES } from '../logic/transfer.js';
import { collectFiles, droppedItems } from './dropFiles.js';

/**
 * @param {object} els  {list, empty, emptyText, joinUrl, qr, invite, inviteUrl, inviteQr}
 * @param {object} on  {call(peer), watch(peer), sendFiles(peer, files), pickFiles(peer, folder), sendText(peer)}
 */
/** Folders can be picked (Chromium, Firefox and Safari on desktops; not on phones). */
const FOLDERS =
  typeof document !== 'undefined' &&
  'webkitdirectory' in document.createElement('input') &&
  !(typeof matchMedia === 'function' && matchMedia('(pointer: coarse)').matches);

function smallButton(text) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'send-button';
  b.textContent = text;
  return b;
}

export function createPeerList(els, on) {
  const { list, empty, invite } = els;
  let shared = null;

  /** id -> {li, avatar, name, badge, watch, button, peer}; items are reused so focus survives updates. */
  const items = new Map();

  function item(peer) {
    let entry = items.get(peer.id);
    if (!entry) {
      const li = document.createElement('li');
      li.className = 'peer';
      const avatar = document.createElement('span');
      avatar.className = 'avatar';
      avatar.setAttribute('aria-hidden', 'true');
      const name = document.createElement('span');
      name.className = 'peer-name';
      const badge = document.createElement('span');
      badge.className = 'live-badge';
      badge.textContent = 'Live';
      const meeting = document.createElement('span');
      meeting.className = 'meeting-badge';
      meeting.textContent = 'In the meeting';
      meeting.hidden = true;
      const watch = document.createElement('button');
      watch.type = 'button';
      watch.className = 'call-button watch-button';
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'call-button';
      const files = smallButton('Send files');
      const folder = smallButton('Send a folder');
      folder.hidden = !FOLDERS;
      const text = smallButton('Send text');
      const send = document.createElement('span');
      send.className = 'send-actions';
      send.append(files, folder, text);
      li.append(avatar, name, badge, meeting, watch, button, send);
      entry = { li, avatar, name, badge, meeting, watch, button, files, folder, text, peer };
      const current = entry;
      button.addEventListener('click', () => on.call(current.peer));
      watch.addEventListener('click', () => on.watch(current.peer));
      files.addEventListener('click', () => on.pickFiles(current.peer, false));
      folder.addEventListener('click', () => on.pickFiles(current.peer, true));
      text.addEventListener('click', () => on.sendText(current.peer));
      // Files dropped onto the device's entry are offered to it.
      li.addEventListener('dragover', (e) => {
        if (!current.files.disabled && e.dataTransfer && [...e.dataTransfer.types].includes('Files')) {
          e.preventDefault();
          li.classList.add('drop-target');
        }
      });
      li.addEventListener('dragleave', () => li.classList.remove('drop-target'));
      li.addEventListener('drop', (e) => {
        li.classList.remove('drop-target');
        if (current.files.disabled || !e.dataTransfer) return;
        const dropped = droppedItems(e.dataTransfer);
        if (dropped.length === 0) return;
        e.preventDefault();
        const peer = current.peer;
        collectFiles(dropped, MAX_FILES)
          .then((files) => files.length > 0 && on.sendFiles(peer, files))
          .catch((err) => console.warn('lanrtc: could not read what was dropped', err));
      });
      items.set(peer.id, entry);
    }
    entry.peer = peer;
    const label = peer.label || peer.name;
    if (entry.name.textContent !== label) {
      entry.name.textContent = label;
      entry.avatar.textContent = initials(peer.name);
      entry.button.textContent = `Call ${label}`;
      entry.watch.textContent = `Watch ${label}`;
      entry.files.setAttribute('aria-label', `Send files to ${label}`);
      entry.folder.setAttribute('aria-label', `Send a folder to ${label}`);
      entry.text.setAttribute('aria-label', `Send text to ${label}`);
    }
    entry.badge.hidden = !peer.live;
    entry.watch.hidden = !peer.live;
    return entry;
  }

  return {
    /**
     * The address another device should open, and the sentence above it.
     * @param {string} url
     * @param {string} text
     */
    share(url, text) {
      if (shared === url) return;
      shared = url;
      els.emptyText.textContent = text;
      for (const [code, img] of [
        [els.joinUrl, els.qr],
        [els.inviteUrl, els.inviteQr],
      ]) {
        code.textContent = url;
        img.alt = `QR code of ${url}`;
        img.src = `/qr.svg?data=${encodeURIComponent(url)}`;
      }
    },

    /**
     * `offerCalls`/`offerWatch` false: this browser cannot, so the buttons
     * are not shown at all (rather than disabled).
     * @param {{peers: Array<{id,name,live}>, canCall: boolean, callBlocked: string, canWatch: boolean, offerCalls: boolean, offerWatch: boolean}} props
     *   `callBlocked`: why Call is disabled, shown as the button's title.
     */
    render({ peers, canCall, callBlocked = '', canWatch, canSend = canWatch, offerCalls = true, offerWatch = true, inMeeting = new Set() }) {
      const ids = new Set(peers.map((p) => p.id));
      for (const [id, entry] of items) {
        if (!ids.has(id)) {
          entry.li.remove();
          items.delete(id);
        }
      }
      peers.forEach((peer, i) => {
        const entry = item(peer);
        entry.button.disabled = !canCall;
        const why = canCall ? '' : callBlocked;
        if (entry.button.title !== why) entry.button.title = why;
        entry.button.hidden = peer.stream === true || !offerCalls;
        entry.watch.disabled = !canWatch;
        entry.watch.hidden = !peer.live || !offerWatch;
        entry.meeting.hidden = !inMeeting.has(peer.id);
        // A stream sent to the appliance (WHIP) is no device to send to.
        for (const b of [entry.files, entry.folder, entry.text]) b.disabled = !canSend;
        entry.files.parentElement.hidden = peer.stream === true;
        // Move only what is out of place: moving a node can drop its focus.
        if (list.children[i] !== entry.li) list.insertBefore(entry.li, list.children[i] || null);
      });
      empty.hidden = peers.length > 0;
      invite.hidden = peers.length === 0;
    },
  };
}
