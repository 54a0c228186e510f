// The file-transfer feature: sending files and text to a device of the
// room, receiving them, and keeping each transfer going across drops. It
// owns its transfers (id → sending or receiving end, its connection, its
// progress); main.js routes `transfer` relays, `pipe` and errors here and
// asks what to show (view()).
//
// After a drop, the sender tries again (directly, then through the
// appliance) until GIVE_UP_MS have passed. A device whose signaling came
// back with a new id says `resume` for what it was receiving, and the
// transfer's id (known only to the two ends) tells the other side who it is.
// When both came back with new ids, neither reaches the other's old one:
// each learns the other's new id from the server's `was` (a rejoin it
// checked) and goes on with it.

import { clearLeftovers, createStore, folderPickable, folderStore, pickFolder } from '../fileStore.js';
import { FileLink } from '../fileLink.js';
import { MAX_FILES, MAX_TEXT, progress } from '../logic/transfer.js';
import { ACTIVE, Incoming, Outgoing } from '../transferSession.js';

/** How often progress is sampled and shown. */
const SAMPLE_MS = 500;
/** Between tries to connect again after a drop. */
const RETRY_MS = 8000;
/** An interrupted transfer is given up after this long. */
const GIVE_UP_MS = 90000;
/** Transfers offered to this device that may be open at once. */
const MAX_INCOMING = 20;
/** A connection attempt that has not opened a channel by then is taken as failed. */
const CONNECT_LIMIT_MS = 20000;

/**
 * @param {object} ctx  send(message) → boolean, render(), iceServers() → [],
 *   peerName(id) → string, connected() → boolean
 */
export function createTransfers(ctx) {
  /** id → {id, direction, peerId, peerName, session, link, samples, via, retry, interruptedAt} */
  const transfers = new Map();
  let ticker = null;
  clearLeftovers();

  function link(entry, role) {
    return new FileLink({
      transfer: entry.id,
      role,
      peerId: entry.peerId,
      send: ctx.send,
      iceServers: ctx.iceServers,
      onChannel: (channel, pieceSize) => {
        entry.via = channel.via;
        entry.session.attach(channel, pieceSize);
      },
      onFailed: (why) => {
        console.warn(`lanrtc: transfer ${entry.id}: ${why}`);
        if (entry.session.state === 'connecting') entry.session.onDropped();
      },
    });
  }

  function add(entry) {
    transfers.set(entry.id, entry);
    if (!ticker) ticker = setInterval(tick, SAMPLE_MS);
    ctx.render();
  }

  /** Samples progress of what runs; stops when nothing does. */
  function tick() {
    const now = Date.now();
    let running = false;
    for (const entry of transfers.values()) {
      if (!ACTIVE.has(entry.session.state)) continue;
      running = true;
      // A connection that never came up (a refused pipe, a peer gone quiet):
      // into the retries and their deadline rather than "Connecting…" for ever.
      if (entry.session.state === 'connecting' && now - entry.attemptAt > CONNECT_LIMIT_MS) {
        entry.session.onDropped();
      }
      entry.samples.push([now, entry.session.bytes.done]);
      if (entry.samples.length > 20) entry.samples.shift();
    }
    if (!running) {
      clearInterval(ticker);
      ticker = null;
    }
    ctx.render();
  }

  function changed(entry) {
    const state = entry.session.state;
    // Only bytes moving again count as recovered (a pipe "opens" before
    // the other end joins it).
    if (state === 'sending' || state === 'receiving') entry.interruptedAt = null;
    if (state === 'interrupted') {
      if (entry.interruptedAt === null) entry.interruptedAt = Date.now();
      if (entry.direction === 'out') retryLater(entry);
      else giveUpLater(entry);
    } else if (!ACTIVE.has(state)) {
      clearTimeout(entry.retry);
      entry.link.close();
      // An offer that never arrived was never shown: forget it.
      if (entry.direction === 'in' && entry.session.receiver === null) transfers.delete(entry.id);
    }
    ctx.render();
  }

  function retryLater(entry) {
    if (entry.retry) return;
    entry.retry = setTimeout(() => {
      entry.retry = null;
      if (entry.session.state !== 'interrupted') return;
      if (Date.now() - entry.interruptedAt > GIVE_UP_MS) {
        entry.session.error = `${entry.peerName} could not be reached again`;
        entry.session.finish('failed');
        return;
      }
      if (ctx.connected()) start(entry);
      retryLater(entry);
    }, entry.retried ? RETRY_MS : 1000);
    entry.retried = true;
  }

  function giveUpLater(entry) {
    clearTimeout(entry.retry);
    entry.retry = setTimeout(() => {
      if (entry.session.state === 'interrupted') {
        entry.session.error = `${entry.peerName} could not be reached again`;
        entry.session.finish('failed');
      }
    }, GIVE_UP_MS);
  }

  /**
   * The receiver is back: try again now if the transfer is cut, or if an
   * attempt is under way to where the receiver no longer is (`moved`).
   */
  function goOn(entry, moved) {
    const state = entry.session.state;
    if (state === 'interrupted' || (moved && state === 'connecting')) start(entry);
  }

  /** One end is back (ours, or the other under a new id): pick up what was cut. */
  function pickUp(entry, moved) {
    if (!ACTIVE.has(entry.session.state)) return;
    if (entry.direction === 'in') entry.link.relay('resume');
    else goOn(entry, moved);
  }

  function start(entry) {
    entry.attemptAt = Date.now();
    entry.link.start();
  }

  /** A transfer's bookkeeping; its session and link are added by the caller. */
  function newEntry(id, direction, peerId, peerName) {
    return { id, direction, peerId, peerName, samples: [], via: null, retry: null, interruptedAt: null, attemptAt: Date.now() };
  }

  function send(peer, files, text) {
    const entry = newEntry(crypto.randomUUID(), 'out', peer.id, peer.name);
    entry.session = new Outgoing({ files, text, onChange: () => changed(entry) });
    entry.link = link(entry, 'sender');
    add(entry);
    if (files.length > MAX_FILES) {
      entry.session.error = `at most ${MAX_FILES} files at once; this was ${files.length}`;
      entry.session.finish('failed');
      return;
    }
    start(entry);
  }

  function incoming(id, peerId) {
    const open = [...transfers.values()].filter((e) => e.direction === 'in' && ACTIVE.has(e.session.state));
    if (open.length >= MAX_INCOMING) return null;
    const entry = newEntry(id, 'in', peerId, ctx.peerName(peerId));
    entry.session = new Incoming({ store: createStore(id), onChange: () => changed(entry) });
    entry.link = link(entry, 'receiver');
    // A connection that never brings an offer is dropped unseen.
    entry.retry = setTimeout(() => {
      if (entry.session.receiver === null) {
        entry.link.close();
        entry.session.finish('failed');
        transfers.delete(id);
      }
    }, GIVE_UP_MS);
    add(entry);
    return entry;
  }

  /**
   * The transfer a message from `source` is about. A known id from another
   * source is the same device back with a new id (only the two ends know
   * the transfer's id).
   */
  function find(id, source) {
    const entry = transfers.get(id);
    if (entry && entry.peerId !== source) retarget(entry, source);
    return entry;
  }

  function retarget(entry, peerId) {
    entry.peerId = peerId;
    entry.link.peerId = peerId;
    entry.peerName = ctx.peerName(peerId);
  }

  function onSignal(data) {
    if (!data || typeof data.transfer !== 'string' || typeof data.source !== 'string') return;
    let entry = transfers.get(data.transfer);
    if (entry && ((data.signal === 'offer' && entry.direction !== 'in') || (data.signal === 'answer' && entry.direction !== 'out'))) {
      return;
    }
    let moved = false;
    if (!entry) {
      if (data.signal !== 'offer') return;
      entry = incoming(data.transfer, data.source);
      if (!entry) return;
    } else {
      moved = entry.peerId !== data.source;
      entry = find(data.transfer, data.source);
    }
    if (!ACTIVE.has(entry.session.state)) {
      // Over on this side: say how, so the other side stops trying.
      if (data.signal !== 'ended' && data.signal !== 'cancel') tellEnded(entry);
      return;
    }
    switch (data.signal) {
      case 'resume':
        if (entry.direction === 'out') goOn(entry, moved);
        return;
      case 'cancel':
        entry.session.finish('cancelled');
        return;
      case 'ended':
        if (entry.direction === 'out' && typeof data.state === 'string') entry.session.ended(data.state, data.outcome);
        else entry.session.finish('cancelled');
        return;
      default:
        entry.link.onSignal(data);
    }
  }

  function tellEnded(entry) {
    const s = entry.session;
    const outcome = s.state === 'done' || s.state === 'failed' ? s.outcome.map((o) => (o === null ? 'failed' : o)) : undefined;
    entry.link.relay('ended', { state: s.state, outcome });
  }

  function onPipe(data) {
    if (!data || typeof data.transfer !== 'string' || typeof data.peer !== 'string') return;
    const entry = transfers.has(data.transfer) ? find(data.transfer, data.peer) : incoming(data.transfer, data.peer);
    if (!entry) return;
    if (ACTIVE.has(entry.session.state)) entry.link.onPipe(data.path);
    else tellEnded(entry);
  }

  return {
    sendFiles(peer, fileList) {
      const files = Array.from(fileList || []);
      if (files.length > 0) send(peer, files, null);
    },
    sendText(peer, text) {
      const clean = String(text).slice(0, MAX_TEXT);
      if (clean.trim() !== '') send(peer, [], clean);
    },
    accept(id) {
      const entry = transfers.get(id);
      if (entry && entry.direction === 'in') entry.session.accept();
    },
    /** Accept into a folder the person picks (where the browser can): written straight there. */
    async acceptInto(id) {
      const entry = transfers.get(id);
      if (!entry || entry.direction !== 'in' || entry.session.state !== 'asking') return;
      let dir = null;
      try {
        dir = await pickFolder();
      } catch (err) {
        console.warn('lanrtc: no folder picked', err);
      }
      if (!dir || entry.session.state !== 'asking') return;
      entry.session.store = folderStore(dir);
      entry.session.accept();
    },
    decline(id) {
      const entry = transfers.get(id);
      if (entry && entry.direction === 'in') entry.session.decline();
    },
    cancel(id) {
      const entry = transfers.get(id);
      if (!entry || !ACTIVE.has(entry.session.state)) return;
      entry.session.cancel();
      // Also over signaling: there may be no channel right now (connecting,
      // interrupted), and the other side must stop too.
      entry.link.relay('cancel');
    },
    dismiss(id) {
      const entry = transfers.get(id);
      if (entry && !ACTIVE.has(entry.session.state)) {
        transfers.delete(id);
        ctx.render();
      }
    },

    serverMessages: { transfer: onSignal, pipe: onPipe },

    /** An error the server sent back: ours when it is about a transfer or a pipe. */
    onError(error) {
      return error.ref === 'transfer' || error.ref === 'pipe' || error.code === 'pipe-refused';
    },

    /** Our signaling is back, perhaps with a new id: pick up what was cut. */
    onReady() {
      for (const entry of transfers.values()) pickUp(entry, false);
    },

    onPeer(data) {
      if (!data || typeof data.id !== 'string' || typeof data.name !== 'string' || data.remove) return;
      const was = typeof data.was === 'string' ? data.was : null;
      for (const entry of transfers.values()) {
        if (was !== null && entry.peerId === was) {
          retarget(entry, data.id);
          pickUp(entry, true);
        }
        if (entry.peerId === data.id) entry.peerName = data.name;
      }
    },

    /** Who is waiting for an answer to files offered to this device (the newest), or null. */
    get asking() {
      const waiting = [...transfers.values()].filter((e) => e.direction === 'in' && e.session.state === 'asking');
      return waiting.length > 0 ? waiting[waiting.length - 1].peerName : null;
    },

    /** A reload now would lose a transfer or received files. */
    get busy() {
      for (const entry of transfers.values()) {
        if (ACTIVE.has(entry.session.state) && (entry.direction === 'out' || entry.session.receiver !== null)) return true;
        if (entry.direction === 'in' && !entry.session.store.folder && entry.session.received.some(Boolean)) return true;
      }
      return false;
    },

    /** What the page shows: each transfer, newest first. */
    view() {
      const shown = [...transfers.values()].filter((e) => e.direction === 'out' || e.session.receiver !== null);
      return shown.reverse().map((entry) => {
        const s = entry.session;
        const { done, total } = s.bytes;
        const p = progress(entry.samples, total);
        return {
          id: entry.id,
          direction: entry.direction,
          peerName: entry.peerName,
          state: s.state,
          error: s.error,
          via: entry.via,
          text: s.text,
          files: s.files.map((f, i) => ({
            name: f.name,
            size: f.size,
            outcome: s.outcome[i],
            file: entry.direction === 'in' ? s.received[i] : null,
          })),
          done,
          total,
          percent: total > 0 ? Math.floor((done / total) * 100) : s.state === 'done' ? 100 : 0,
          speed: ACTIVE.has(s.state) ? p.speed : 0,
          secondsLeft: ACTIVE.has(s.state) ? p.secondsLeft : null,
          resumedFrom: entry.direction === 'out' ? s.resumedFrom : 0,
          store: entry.direction === 'in' ? s.store.kind : null,
          savedIn: entry.direction === 'in' ? s.store.folder || null : null,
          canPickFolder: entry.direction === 'in' && s.state === 'asking' && folderPickable(),
        };
      });
    },
  };
}
