import test from 'node:test';
import assert from 'node:assert/strict';
import {
  applianceAudienceText,
  MAX_VIEWERS_LAPTOP,
  MAX_VIEWERS_PHONE,
  ViewerSlots,
  audienceText,
  endedText,
  maxViewers,
  onStream,
  watch,
} from '../../public/js/logic/live.js';

test('slots admit up to the cap, then say full; leaving frees a slot', () => {
  const slots = new ViewerSlots(2);
  assert.equal(slots.admit('a'), 'ok');
  assert.equal(slots.admit('a'), 'again');
  assert.equal(slots.admit('b'), 'ok');
  assert.equal(slots.admit('c'), 'full');
  assert.equal(slots.count, 2);
  assert.ok(slots.release('a'));
  assert.ok(!slots.release('a'));
  assert.equal(slots.admit('c'), 'ok');
});

test('stream messages carry the side; watch carries the offer', () => {
  assert.deepEqual(watch('b', 'v=0'), { type: 'watch', data: { target: 'b', sdp: 'v=0' } });
  const m = onStream({ type: 'hangup', data: { target: 'v', reason: 'stopped' } }, 'broadcaster');
  assert.deepEqual(m, { type: 'hangup', data: { target: 'v', reason: 'stopped', stream: 'broadcaster' } });
});

test('phones serve fewer viewers than laptops', () => {
  assert.equal(maxViewers({ userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)' }), MAX_VIEWERS_PHONE);
  assert.equal(maxViewers({ userAgent: 'x', userAgentData: { mobile: true } }), MAX_VIEWERS_PHONE);
  assert.equal(maxViewers({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120' }), MAX_VIEWERS_LAPTOP);
  assert.ok(MAX_VIEWERS_PHONE < MAX_VIEWERS_LAPTOP);
});

test('every way a stream ends has its own sentence', () => {
  assert.match(endedText('Ann', 'full'), /^The broadcaster is full/);
  assert.equal(endedText('Ann', 'stopped'), 'Ann ended the live stream.');
  assert.match(endedText('Ann', 'timeout'), /did not start: no picture came within 15 seconds/);
  const texts = ['full', 'stopped', 'left', 'failed', 'timeout', 'offline', undefined].map((r) => endedText('Ann', r));
  assert.equal(new Set(texts).size, texts.length);
  assert.match(audienceText(0, 6), /No one is watching/);
  assert.equal(audienceText(2, 6), 'Live to 2 viewers (up to 6).');
});

test('the broadcaster is told how many watch through the appliance', () => {
  assert.equal(applianceAudienceText(0), 'Live through the appliance. No one is watching yet.');
  assert.equal(applianceAudienceText(1), 'Live through the appliance to 1 viewer.');
  assert.equal(applianceAudienceText(12), 'Live through the appliance to 12 viewers.');
});
