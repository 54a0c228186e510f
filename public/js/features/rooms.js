// The room this page is in (from its URL; null is the lobby) and the link
// other devices should open to join it: the server's best LAN address, its
// plain-HTTP landing when the server offers one, and the access key when
// there is one. main.js passes it each `ready` and asks it to render.

import {
  PRIVATE_ROOM_BYTES,
  landingOrigin,
  privateRoomName,
  roomFromPath,
  roomLabel,
  shareOrigin,
  shareUrl,
} from '../logic/room.js';

/**
 * @param {object} ctx  {peerList (its share()), $ (id → element)}
 */
export function createRooms(ctx) {
  const { $ } = ctx;
  const room = roomFromPath(location.pathname);
  /** The server's access key (from `ready`), for the links this page shares. */
  let accessKey = null;
  /** The origin other devices should open (from `ready`). */
  let origin = location.origin;

  $('new-room').addEventListener('click', () => {
    const bytes = crypto.getRandomValues(new Uint8Array(PRIVATE_ROOM_BYTES));
    location.assign(`/r/${privateRoomName(bytes)}`);
  });

  function share() {
    ctx.peerList.share(
      shareUrl(origin, room, accessKey),
      room
        ? 'No one else is in this room yet. Open this address on the devices that should join (only they will see this room):'
        : 'No other device is here yet. To join, open this address on a phone or laptop on the same network:',
    );
  }
  share();

  return {
    /** The room named by the page URL; null is the lobby. */
    room,

    /** A fresh connection's `ready`: its key and addresses. */
    onReady(message) {
      accessKey = typeof message.accessKey === 'string' ? message.accessKey : null;
      origin = landingOrigin(message.landing, accessKey) || shareOrigin(message.lan, location.origin);
      share();
    },

    /** @param {object} props  {busy: a call or a live stream runs} */
    render({ busy }) {
      $('new-room').disabled = busy;
      $('leave-room').hidden = room === null;
      $('people-title').textContent = room ? roomLabel(room) : 'Devices here';
    },
  };
}
