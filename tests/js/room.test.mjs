import test from 'node:test';
import assert from 'node:assert/strict';
import {
  PRIVATE_ROOM_BYTES,
  isRoomName,
  privateRoomName,
  roomFromPath,
  roomLabel,
  landingOrigin,
  shareOrigin,
  shareUrl,
  socketUrl,
} from '../../public/js/logic/room.js';

test('the room comes from /r/<room>; anything else is the lobby', () => {
  assert.equal(roomFromPath('/r/team-7'), 'team-7');
  assert.equal(roomFromPath('/r/team-7/'), 'team-7');
  for (const path of ['/', '/r/', '/r/a b', '/r/a/b', '/x/team', '', undefined, `/r/${'a'.repeat(65)}`]) {
    assert.equal(roomFromPath(path), null, String(path));
  }
});

test('socket and share URLs', () => {
  assert.equal(socketUrl('h:8443', null), 'wss://h:8443/rtc');
  assert.equal(socketUrl('h:8443', 'team'), 'wss://h:8443/rtc?room=team');
  assert.equal(shareUrl('https://h:8443', null, null), 'https://h:8443/');
  assert.equal(shareUrl('https://h:8443', 'team', null), 'https://h:8443/r/team');
  assert.equal(shareUrl('https://h:8443', 'team', 'k+y'), 'https://h:8443/r/team?key=k%2By');
});

test('the share link uses the LAN address the server gives, whatever the page was opened at', () => {
  const page = 'https://localhost:8443';
  assert.equal(shareOrigin('https://192.168.1.20:8443', page), 'https://192.168.1.20:8443');
  assert.equal(shareOrigin('https://[fd00::5]:8443', page), 'https://[fd00::5]:8443');
  for (const bad of [undefined, null, 42, '', 'http://192.168.1.20:8443', 'javascript:alert(1)',
    'https://192.168.1.20:8443/path', 'not a url']) {
    assert.equal(shareOrigin(bad, page), page, String(bad));
  }
});

test('the landing is shared when offered, never with an access key', () => {
  assert.equal(landingOrigin('http://192.168.1.20:8443', null), 'http://192.168.1.20:8443');
  assert.equal(landingOrigin('http://192.168.1.20:8443', 'secret'), null);
  for (const bad of [undefined, null, 42, '', 'https://192.168.1.20:8443', 'javascript:alert(1)',
    'http://192.168.1.20:8443/x', 'not a url']) {
    assert.equal(landingOrigin(bad, null), null, String(bad));
  }
  // A room's link goes to the landing of that room.
  assert.equal(shareUrl('http://10.0.0.5:8443', 'team', null), 'http://10.0.0.5:8443/r/team');
});

test('private room names are valid, long and unguessable', () => {
  const bytes = new Uint8Array(PRIVATE_ROOM_BYTES).fill(255);
  const name = privateRoomName(bytes);
  assert.ok(isRoomName(name), name);
  assert.equal(name.length, 22);
  assert.ok(PRIVATE_ROOM_BYTES * 8 >= 96);
  const random = privateRoomName(crypto.getRandomValues(new Uint8Array(PRIVATE_ROOM_BYTES)));
  assert.ok(isRoomName(random));
  assert.notEqual(random, privateRoomName(crypto.getRandomValues(new Uint8Array(PRIVATE_ROOM_BYTES))));
  assert.equal(roomLabel(random), 'Private room');
  assert.equal(roomLabel('math'), 'Room math');
  assert.equal(roomLabel(null), 'Lobby');
});
