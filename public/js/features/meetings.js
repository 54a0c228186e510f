// The meeting feature: the room's meeting as the server tells it (who is
// in, who speaks), joining and leaving, and our MeetingSession while we are
// in it. main.js routes the meeting messages here and asks what to show.

import { KeptTracks } from '../keptTracks.js';
import { MeetingSession } from '../meeting.js';
import { mediaProblemKind } from '../logic/media.js';
import { deviceSendsSimulcast, joinMessage, joinProblemText, leaveMessage, readMeeting } from '../logic/meeting.js';
import { isObject } from '../logic/protocol.js';

/**
 * @param {object} ctx  send(message) → boolean, status ({show, clear}),
 *   render(), self() → {id, name}, mediaOn() → boolean,
 *   beforeJoin() (ends what a meeting replaces: going live, watching)
 */
/** How long after a drop the meeting is taken up again by itself. */
const COME_BACK_MS = 60_000;

export function createMeetings(ctx) {
  /** The room's meeting as last told, or null when there is none. */
  let room = null;
  /** Ours, while we are in the meeting. */
  let session = null;
  let joining = false;
  /** A tile the person tapped to keep large. */
  let pinned = null;

  /** A 1:1 call moving here ("Add someone"): its other side, until it is in. */
  let partner = null;

  /**
   * Our place in the meeting when the server connection dropped: the
   * camera and microphone (KeptTracks, for COME_BACK_MS) and whether they
   * were muted or off. Joined again as soon as the connection is back.
   */
  let comeBack = null;

  /**
   * Joins the room's meeting. `from`: a 1:1 call's camera and microphone
   * (shared, not opened again: iOS stops the first capture when a second
   * starts) and its other side, whose arrival in the meeting ends the call.
   */
  async function join(from = null) {
    if (session || joining || !ctx.self().id) return;
    if (from === null) dropComeBack();
    joining = true;
    partner = from ? from.peerId : null;
    ctx.status.clear('meeting');
    let stream;
    try {
      stream = from && from.stream ? shared(from.stream) : await capture();
    } catch (err) {
      joining = false;
      console.warn('lanrtc: no camera or microphone for the meeting', err);
      ctx.status.show(joinProblemText(mediaProblemKind(err)), { key: 'meeting' });
      ctx.render();
      return;
    }
    joining = false;
    if (session || !ctx.self().id) {
      for (const t of stream.getTracks()) t.stop();
      return;
    }
    ctx.beforeJoin();
    const s = new MeetingSession({
      stream,
      simulcast: layered(),
      send: ctx.send,
      selfId: ctx.self().id,
      onChange: () => session === s && ctx.render(),
      onLost: () => {
        if (session !== s) return;
        leave();
        ctx.status.show('You left the meeting: the connection to the appliance was lost.', { key: 'meeting' });
      },
    });
    session = s;
    ctx.send(joinMessage({ muted: false, camera: s.cameraOff === false }));
    if (room) s.onMeeting(room);
    ctx.render();
    try {
      await s.start();
      checkPartner();
    } catch (err) {
      if (session !== s) return;
      console.warn('lanrtc: the meeting stream did not start', err);
      leave();
      ctx.status.show(`You could not join the meeting: ${err.message}.`, { key: 'meeting' });
    }
  }

  function shared(stream) {
    const live = stream.getTracks().filter((t) => t.readyState === 'live');
    if (live.length === 0) throw new Error('the call has no camera or microphone');
    return new MediaStream(live.map((t) => t.clone()));
  }

  /** Once our stream is up and the call's other side publishes here, the call has moved. */
  function checkPartner() {
    if (!partner || !session || !session.up || !room) return;
    if (room.members.some((m) => m.id === partner && m.publishing)) {
      partner = null;
      ctx.onCallMoved();
    }
  }

  const layered = () => deviceSendsSimulcast(window);

  /** The camera and microphone; the microphone alone when there is no camera. */
  async function capture() {
    const devices = navigator.mediaDevices;
    // A laptop's top layer is 720p; a phone sends one smaller picture.
    const video = layered() ? { width: { ideal: 1280 }, height: { ideal: 720 } } : true;
    try {
      return await devices.getUserMedia({ video, audio: true });
    } catch (err) {
      if (err && err.name === 'NotAllowedError') throw err;
      return devices.getUserMedia({ audio: true });
    }
  }

  function dropComeBack() {
    if (!comeBack) return;
    comeBack.kept.drop();
    comeBack = null;
  }

  function leave({ tell = true } = {}) {
    if (!session) return;
    if (tell) ctx.send(leaveMessage());
    session.close();
    session = null;
    pinned = null;
    partner = null;
    ctx.render();
  }

  return {
    join,
    /** Leaving on purpose (or the page going away) also gives up a pending return. */
    leave(options) {
      dropComeBack();
      leave(options);
    },

    /** Pins a tile large, or unpins it. */
    pin(id) {
      pinned = pinned === id ? null : id;
      ctx.render();
    },

    setMuted: (muted) => session && session.setMuted(muted),
    setCameraOff: (off) => session && session.setCameraOff(off),
    async toggleScreen() {
      if (!session) return;
      try {
        if (session.screen) await session.stopSharing();
        else await session.shareScreen();
      } catch (err) {
        console.warn('lanrtc: screen sharing did not start', err);
        ctx.status.show('Screen sharing was not started.', { key: 'meeting' });
      }
    },

    serverMessages: {
      meeting(data) {
        const state = readMeeting(data);
        if (!state) return;
        room = state.members.length > 0 ? state : null;
        if (session) session.onMeeting(state);
        checkPartner();
        ctx.render();
      },
      subscribed(data) {
        if (session && isObject(data) && typeof data.source === 'string' && typeof data.sdp === 'string') {
          session.onSubscribed(data.source, data.sdp);
        }
      },
      unsubscribed(data) {
        if (session && isObject(data) && typeof data.source === 'string') {
          session.onUnsubscribed(data.source, data.reason);
        }
      },
    },

    /** `published`/`unpublished` that answer our meeting stream (`data.meeting`). */
    claims(data) {
      return isObject(data) && data.meeting === true;
    },
    onPublished(data) {
      if (session && typeof data.sdp === 'string') session.onPublished(data.sdp);
    },
    onUnpublished() {
      if (!session) return;
      leave();
      ctx.status.show('You left the meeting: your stream to the appliance stopped.', { key: 'meeting' });
    },

    /** A server error about the meeting: true when it was one. */
    onError(error) {
      // About someone else's stream (its member just left): nothing to undo.
      if (error.ref === 'subscribe' || error.ref === 'unsubscribe') return true;
      if (error.ref === 'meeting' || error.code === 'meeting-full' || error.code === 'not-in-meeting') {
        if (session) leave({ tell: error.code !== 'meeting-full' });
        ctx.status.show(error.message || 'The meeting could not be joined.', { key: 'meeting' });
        return true;
      }
      if (error.ref === 'publish' && session && !session.up) {
        session.onPublishRefused(error.message);
        return true;
      }
      return false;
    },

    /** A fresh connection: the server will tell us about the room's meeting again. */
    onReady() {
      room = null;
    },

    /**
     * The server connection was lost, and with it our place in the meeting:
     * kept, to take again when it is back.
     */
    onOffline() {
      room = null;
      if (!session) return;
      dropComeBack();
      const back = {
        kept: new KeptTracks(session.camera, COME_BACK_MS, () => {
          if (comeBack !== back) return;
          comeBack = null;
          ctx.status.show('You left the meeting: the connection to the server was lost.', { key: 'meeting' });
        }),
        muted: session.muted,
        cameraOff: session.cameraOff,
      };
      comeBack = back;
      leave({ tell: false });
      ctx.status.show('The connection to the server was lost; back in the meeting as soon as it returns\u2026', {
        key: 'meeting',
      });
    },

    /** Connected and identified again: back into the meeting we were in. */
    onConnected() {
      if (!comeBack) return;
      const back = comeBack;
      comeBack = null;
      const stream = back.kept.take();
      if (!stream) {
        back.kept.drop();
        ctx.status.show('You left the meeting: the connection to the server was lost.', { key: 'meeting' });
        return;
      }
      // The tracks are copied again for the session (synchronously, so the
      // session exists when join returns its promise); ours then stop.
      const joined = join({ stream, peerId: null });
      back.kept.drop();
      if (session) {
        if (back.muted) session.setMuted(true);
        if (back.cameraOff) session.setCameraOff(true);
      }
      joined.catch((err) => console.warn('lanrtc: could not go back into the meeting', err));
    },

    get inMeeting() {
      return session !== null;
    },
    get busy() {
      return session !== null || joining;
    },
    /** For diagnostics (and the browser tests). */
    get session() {
      return session;
    },

    /** What the page shows. */
    view() {
      return {
        room,
        session,
        pinned,
        offered: ctx.mediaOn(),
      };
    },
  };
}
