import test from 'node:test';
import assert from 'node:assert/strict';
import {
  CALLEE_TIMEOUT_MS,
  DISCONNECT_GRACE_MS,
  LINK_GRACE_MS,
  RESTART_MS,
  RESTART_RETRY_MS,
  RING_TIMEOUT_MS,
  connectionText,
  idleCall,
  transition,
} from '../../public/js/logic/callState.js';

const ann = { id: 'ann-id', name: 'Ann' };
const bob = { id: 'bob-id', name: 'Bob' };
const UP = { type: 'link-changed', connection: 'connected', channel: 'open' };

/** Runs events from `start`; returns the final call and every effect. */
function run(events, start = idleCall) {
  let call = start;
  const effects = [];
  for (const event of events) {
    const out = transition(call, event);
    call = out.call;
    effects.push(...out.effects);
  }
  return { call, effects };
}

const statuses = (effects) => effects.filter((e) => e.type === 'status').map((e) => e.text);
const sent = (effects) => effects.filter((e) => e.type === 'send').map((e) => e.message);
const lastStatus = (effects) => statuses(effects).at(-1);
const has = (effects, type) => effects.some((e) => e.type === type);

const calling = run([{ type: 'dial', peer: ann }, { type: 'offer-sent' }]).call;
const ringing = run([{ type: 'offer-received', peer: ann, sdp: 'offer-sdp' }]).call;
const inCall = run([{ type: 'answer-received', from: ann.id, sdp: 'answer-sdp' }, UP], calling).call;

test('dialling starts a call and says so', () => {
  const { call, effects } = run([{ type: 'dial', peer: ann }]);
  assert.equal(call.state, 'calling');
  assert.deepEqual(call.peer, ann);
  assert.equal(call.mode, 'full');
  assert.deepEqual(effects.slice(0, 2), [
    { type: 'open-session', peer: ann },
    { type: 'start-call', peer: ann, mode: 'full' },
  ]);
  assert.equal(lastStatus(effects), 'Calling Ann\u2026');
});

test('the ring timer starts once the offer is out', () => {
  const { effects } = run([{ type: 'dial', peer: ann }, { type: 'offer-sent' }]);
  assert.deepEqual(effects.at(-1), { type: 'start-timer', ms: RING_TIMEOUT_MS });
  assert.equal(RING_TIMEOUT_MS, 30_000);
});

test('an answer from the callee starts the call', () => {
  const { call, effects } = run([{ type: 'answer-received', from: ann.id, sdp: 'a' }], calling);
  assert.equal(call.state, 'in-call');
  assert.ok(has(effects, 'stop-timer'));
  assert.deepEqual(effects.find((e) => e.type === 'apply-answer'), { type: 'apply-answer', sdp: 'a' });
  assert.equal(lastStatus(effects), 'In a call with Ann.');
});

test('an answer from someone else is told to hang up', () => {
  const { call, effects } = run([{ type: 'answer-received', from: bob.id, sdp: 'a' }], calling);
  assert.equal(call, calling);
  assert.deepEqual(sent(effects), [{ type: 'hangup', data: { target: bob.id } }]);
  const idle = run([{ type: 'answer-received', from: bob.id, sdp: 'a' }]);
  assert.equal(idle.call.state, 'idle');
  assert.deepEqual(sent(idle.effects), [{ type: 'hangup', data: { target: bob.id } }]);
});

test('the caller is told why a call was refused', () => {
  const table = [
    ['declined', 'Ann declined the call.'],
    ['busy', 'Ann is busy.'],
    ['timeout', 'No answer from Ann.'],
    [undefined, 'Ann could not take the call.'],
    ['failed', 'Ann could not take the call.'],
  ];
  for (const [reason, text] of table) {
    const { call, effects } = run([{ type: 'reject-received', from: ann.id, reason }], calling);
    assert.equal(call.state, 'idle', String(reason));
    assert.equal(lastStatus(effects), text);
    assert.ok(has(effects, 'teardown'));
  }
  // A reject from another device is not about this call.
  assert.equal(run([{ type: 'reject-received', from: bob.id, reason: 'busy' }], calling).call, calling);
});

test('an unanswered call ends as missed on both sides', () => {
  const caller = run([{ type: 'timeout' }], calling);
  assert.equal(caller.call.state, 'idle');
  assert.deepEqual(sent(caller.effects), [
    { type: 'hangup', data: { target: ann.id, reason: 'timeout' } },
  ]);
  assert.equal(lastStatus(caller.effects), 'No answer from Ann.');

  const callee = run([{ type: 'hangup-received', from: ann.id, reason: 'timeout' }], ringing);
  assert.equal(callee.call.state, 'idle');
  assert.equal(lastStatus(callee.effects), 'Missed call from Ann.');
  assert.deepEqual(sent(callee.effects), []);
});

test("the callee's own timer is a fallback that also ends as missed", () => {
  assert.ok(CALLEE_TIMEOUT_MS > RING_TIMEOUT_MS);
  const start = run([{ type: 'offer-received', peer: ann, sdp: 'o' }]);
  assert.ok(start.effects.some((e) => e.type === 'start-timer' && e.ms === CALLEE_TIMEOUT_MS));
  const { call, effects } = run([{ type: 'timeout' }], ringing);
  assert.equal(call.state, 'idle');
  assert.deepEqual(sent(effects), [{ type: 'reject', data: { target: ann.id, reason: 'timeout' } }]);
  assert.equal(lastStatus(effects), 'Missed call from Ann.');
});

test('cancelling tells the callee', () => {
  const caller = run([{ type: 'cancel' }], calling);
  assert.equal(caller.call.state, 'idle');
  assert.deepEqual(sent(caller.effects), [{ type: 'hangup', data: { target: ann.id } }]);
  const callee = run([{ type: 'hangup-received', from: ann.id }], ringing);
  assert.equal(callee.call.state, 'idle');
  assert.equal(lastStatus(callee.effects), 'Ann cancelled the call.');
});

test('an offer shows the dialog; declining answers "declined"', () => {
  assert.equal(ringing.state, 'ringing');
  assert.deepEqual(ringing.peer, ann);
  assert.equal(ringing.offer, 'offer-sdp');
  const { call, effects } = run([{ type: 'decline' }], ringing);
  assert.equal(call.state, 'idle');
  assert.deepEqual(sent(effects), [{ type: 'reject', data: { target: ann.id, reason: 'declined' } }]);
});

test('accepting answers with media, then the call runs', () => {
  const accepted = run([{ type: 'accept' }], ringing);
  assert.equal(accepted.call.state, 'ringing');
  assert.equal(accepted.call.answering, true);
  assert.deepEqual(accepted.effects[0], { type: 'answer-call', peer: ann, sdp: 'offer-sdp', mode: 'full' });
  // A second press while media starts does nothing.
  assert.deepEqual(run([{ type: 'accept' }], accepted.call).effects, []);
  const { call, effects } = run([{ type: 'answer-sent' }], accepted.call);
  assert.equal(call.state, 'in-call');
  assert.ok(has(effects, 'stop-timer'));
  assert.equal(lastStatus(effects), 'In a call with Ann.');
});

test('a device in a call or ringing answers other offers "busy" without a dialog', () => {
  for (const start of [calling, ringing, inCall]) {
    const { call, effects } = run([{ type: 'offer-received', peer: bob, sdp: 'o' }], start);
    assert.equal(call, start, start.state);
    assert.deepEqual(effects, [
      { type: 'send', message: { type: 'reject', data: { target: bob.id, reason: 'busy' } } },
    ]);
  }
});

test('hanging up ends the call on both sides, also over the data channel', () => {
  const { call, effects } = run([{ type: 'hangup' }], inCall);
  assert.equal(call.state, 'idle');
  assert.deepEqual(
    effects.filter((e) => e.type === 'send' || e.type === 'channel-send'),
    [
      { type: 'send', message: { type: 'hangup', data: { target: ann.id } } },
      { type: 'channel-send', message: '{"type":"disconnect"}' },
    ],
  );
  // Messages go out before the connection is torn down.
  assert.ok(effects.findIndex((e) => e.type === 'channel-send') < effects.findIndex((e) => e.type === 'teardown'));

  for (const event of [{ type: 'hangup-received', from: ann.id }, { type: 'channel-disconnect' }]) {
    const other = run([event], inCall);
    assert.equal(other.call.state, 'idle');
    assert.equal(lastStatus(other.effects), 'Ann ended the call.');
  }
});

test('a call that moved to the meeting ends quietly: no hangup, no "ended the call"', () => {
  const { call, effects } = run([{ type: 'moved' }], inCall);
  assert.equal(call.state, 'idle');
  assert.deepEqual(effects.filter((e) => e.type === 'send' || e.type === 'channel-send'), []);
  assert.ok(effects.some((e) => e.type === 'teardown'));
  assert.match(lastStatus(effects), /is now a meeting/);
  // Only a running call moves.
  assert.equal(run([{ type: 'moved' }], calling).call, calling);
});

test('a peer that leaves while calling or ringing ends the attempt', () => {
  for (const start of [calling, ringing]) {
    const { call, effects } = run([{ type: 'peer-left', id: ann.id }], start);
    assert.equal(call.state, 'idle');
    assert.equal(lastStatus(effects), 'Ann left.');
  }
  assert.equal(run([{ type: 'peer-left', id: bob.id }], calling).call, calling);
});

test('a peer that leaves mid-call ends it once the link confirms', () => {
  // Link not up: the call ends after the grace, unless Ann comes back.
  const early = run([{ type: 'answer-received', from: ann.id, sdp: 'a' }, { type: 'peer-left', id: ann.id }], calling);
  assert.equal(early.call.state, 'in-call');
  assert.deepEqual(early.effects.at(-1), { type: 'check-peer', ms: RESTART_MS });
  // The link going on failing says nothing new; a restart's deadline does
  // not end it early either; the grace does.
  for (const event of [{ type: 'link-changed', connection: 'failed' }, { type: 'link-check' }]) {
    assert.equal(run([event], early.call).call.state, 'in-call', JSON.stringify(event));
  }
  const over = run([{ type: 'link-changed', connection: 'failed' }, { type: 'peer-check' }], early.call);
  assert.equal(over.call.state, 'idle');
  assert.equal(lastStatus(over.effects), 'Ann left.');
  // Back within the grace (was): the call goes on with the new id, and the
  // grace's end changes nothing.
  const back = run(
    [{ type: 'peer-updated', peer: { id: 'ann-2', name: 'Ann' }, was: ann.id }, { type: 'peer-check' }],
    early.call,
  );
  assert.equal(back.call.state, 'in-call');
  assert.equal(back.call.peer.id, 'ann-2');
  // A link channel that closes still ends it at once.
  assert.equal(run([{ type: 'link-changed', channel: 'closed' }], early.call).call.state, 'idle');
  // The link coming back by itself: the call goes on, the grace's end
  // changes nothing, and a later drop of the link is Ann gone.
  const healed = run(
    [{ type: 'link-changed', connection: 'connected', channel: 'open' }, { type: 'peer-check' }],
    early.call,
  );
  assert.equal(healed.call.state, 'in-call');
  assert.equal(healed.call.goneWhileDown, false);
  assert.equal(lastStatus(run([{ type: 'link-changed', connection: 'connected', channel: 'open' }], early.call).effects), 'In a call with Ann.');
  assert.equal(run([{ type: 'link-changed', connection: 'failed' }], healed.call).call.state, 'idle');

  // Link up: wait for the link to go down.
  const left = run([{ type: 'peer-left', id: ann.id }], inCall);
  assert.equal(left.call.state, 'in-call');
  assert.equal(left.call.peerSignalingGone, true);
  assert.deepEqual(left.effects, [{ type: 'check-link', ms: LINK_GRACE_MS }]);

  for (const change of [
    { type: 'link-changed', channel: 'closed' },
    { type: 'link-changed', connection: 'disconnected' },
    { type: 'link-changed', connection: 'failed' },
  ]) {
    const { call, effects } = run([change], left.call);
    assert.equal(call.state, 'idle', JSON.stringify(change));
    assert.equal(lastStatus(effects), 'Ann left.');
    assert.deepEqual(sent(effects), []);
  }
});

test('a peer that only lost the server keeps the call; hang-up then uses the data channel', () => {
  const left = run([{ type: 'peer-left', id: ann.id }, { type: 'link-check' }], inCall);
  assert.equal(left.call.state, 'in-call');
  const { call, effects } = run([{ type: 'hangup' }], left.call);
  assert.equal(call.state, 'idle');
  assert.deepEqual(sent(effects), []);
  assert.ok(effects.some((e) => e.type === 'channel-send' && e.message === '{"type":"disconnect"}'));
});

test('a peer back under a new id (was) keeps the call, which then reaches it there', () => {
  const back = { id: 'ann-2', name: 'Ann' };
  // Announced before the old connection's removal: that removal is then
  // about nobody in the call.
  const first = run([{ type: 'peer-updated', peer: back, was: ann.id }, { type: 'peer-left', id: ann.id }], inCall);
  assert.equal(first.call.state, 'in-call');
  assert.deepEqual(first.call.peer, back);
  assert.equal(first.call.peerSignalingGone, false);
  // Or after it: the call stops waiting for the link to confirm the end.
  const after = run([{ type: 'peer-left', id: ann.id }, { type: 'peer-updated', peer: back, was: ann.id }], inCall);
  assert.equal(after.call.peerSignalingGone, false);
  assert.deepEqual(after.call.peer, back);
  // The link failing now is restarted over signaling, not taken as Ann gone,
  // and hang-up goes to the new id.
  const failed = run([{ type: 'link-changed', connection: 'failed' }], after.call);
  assert.equal(failed.call.state, 'in-call');
  assert.ok(failed.effects.some((e) => e.type === 'restart-ice'));
  assert.deepEqual(sent(run([{ type: 'hangup' }], after.call).effects), [{ type: 'hangup', data: { target: 'ann-2' } }]);
  // A `was` about someone else, or a newcomer without it, changes nothing.
  assert.equal(run([{ type: 'peer-updated', peer: back, was: 'someone' }], inCall).call, inCall);
  assert.equal(run([{ type: 'peer-updated', peer: back }], inCall).call, inCall);
});

test('the grace check ends the call when the link did not hold', () => {
  const left = run([{ type: 'peer-left', id: ann.id }, { type: 'link-changed', connection: 'connecting' }], inCall);
  const { call, effects } = run([{ type: 'link-check' }], left.call);
  assert.equal(call.state, 'idle');
  assert.equal(lastStatus(effects), 'Ann left.');
});

test('a data channel that closes mid-call ends it', () => {
  const { call, effects } = run([{ type: 'link-changed', channel: 'closed' }], inCall);
  assert.equal(call.state, 'idle');
  assert.equal(lastStatus(effects), 'Ann left.');
});

test('a dropped link gets an ICE restart, and only a failed restart ends the call', () => {
  // "failed": the caller restarts at once.
  const failed = run([{ type: 'link-changed', connection: 'failed' }], inCall);
  assert.equal(failed.call.state, 'in-call');
  assert.equal(failed.call.restarting, true);
  assert.ok(has(failed.effects, 'restart-ice'));
  assert.ok(failed.effects.some((e) => e.type === 'check-link' && e.ms === RESTART_MS));
  assert.equal(lastStatus(failed.effects), 'Reconnecting to Ann\u2026');
  assert.ok(failed.effects.some((e) => e.type === 'retry-restart' && e.ms === RESTART_RETRY_MS));
  // Still down at the retry: another restart (the network may be back now).
  const again = run([{ type: 'restart-retry' }], failed.call);
  assert.deepEqual(again.effects, [{ type: 'restart-ice' }, { type: 'retry-restart', ms: RESTART_RETRY_MS }]);
  // Its answer is applied; the link coming back says so.
  const answered = run([{ type: 'answer-received', from: ann.id, sdp: 'restart-answer' }], failed.call);
  assert.deepEqual(answered.effects, [{ type: 'apply-restart-answer', sdp: 'restart-answer' }]);
  // A late answer, after the link came back by itself, is still handed on.
  assert.deepEqual(run([{ type: 'answer-received', from: ann.id, sdp: 'late' }], inCall).effects, [
    { type: 'apply-restart-answer', sdp: 'late' },
  ]);
  assert.deepEqual(run([{ type: 'answer-received', from: bob.id, sdp: 'x' }], inCall).effects, []);
  const back = run([UP], answered.call);
  assert.equal(back.call.restarting, false);
  assert.equal(lastStatus(back.effects), 'In a call with Ann.');
  assert.equal(run([{ type: 'link-check' }], back.call).call.state, 'in-call');
  assert.deepEqual(run([{ type: 'restart-retry' }], back.call).effects, [], 'no restart once back');
  // No link within RESTART_MS: lost, the peer told, "Call again" offered.
  const gone = run([{ type: 'link-check' }], failed.call);
  assert.equal(gone.call.state, 'idle');
  assert.equal(lastStatus(gone.effects), 'The connection to Ann was lost.');
  assert.deepEqual(sent(gone.effects), [{ type: 'hangup', data: { target: ann.id } }]);
  const offered = gone.effects.find((e) => e.type === 'status').retry;
  assert.deepEqual(offered, { peer: ann, modes: ['full'], answer: false });

  // "disconnected": a grace period first; a blip that heals needs nothing.
  const blip = run([{ type: 'link-changed', connection: 'disconnected' }], inCall);
  assert.deepEqual(blip.effects, [{ type: 'check-link', ms: DISCONNECT_GRACE_MS }]);
  const healed = run([UP, { type: 'link-check' }], blip.call);
  assert.equal(healed.call.restarting, false);
  assert.ok(!has(healed.effects, 'restart-ice'));
  const stuck = run([{ type: 'link-check' }], blip.call);
  assert.ok(has(stuck.effects, 'restart-ice'));

  // The callee does not offer (no glare): it answers the caller's restart.
  const calleeInCall = run([{ type: 'accept' }, { type: 'answer-sent' }, UP], ringing).call;
  const waiting = run([{ type: 'link-changed', connection: 'failed' }], calleeInCall);
  assert.equal(waiting.call.restarting, true);
  assert.ok(!has(waiting.effects, 'restart-ice'));
  const answering = run([{ type: 'offer-received', peer: ann, sdp: 'restart-offer' }], waiting.call);
  assert.deepEqual(answering.effects, [{ type: 'answer-restart', sdp: 'restart-offer' }]);
  assert.equal(answering.call.state, 'in-call');
  // A callee whose own link never dropped is not left "restarting".
  const steady = run([{ type: 'offer-received', peer: ann, sdp: 'o' }, { type: 'link-check' }], calleeInCall);
  assert.equal(steady.call.restarting, false);
  // An offer that comes before the callee noticed the drop brings its own
  // deadline, which replaces a pending grace check.
  const early = run([{ type: 'offer-received', peer: ann, sdp: 'restart-offer' }], calleeInCall);
  assert.deepEqual(early.effects, [
    { type: 'answer-restart', sdp: 'restart-offer' },
    { type: 'check-link', ms: RESTART_MS },
  ]);
  // Anyone else calling meanwhile hears "busy".
  const other = run([{ type: 'offer-received', peer: bob, sdp: 'x' }], calleeInCall);
  assert.deepEqual(sent(other.effects), [{ type: 'reject', data: { target: bob.id, reason: 'busy' } }]);
});

test('camera problems for the caller offer fallbacks for the same peer', () => {
  const denied = run([{ type: 'dial', peer: ann }, { type: 'media-failed', kind: 'denied' }]);
  assert.equal(denied.call.state, 'idle');
  const status = denied.effects.at(-1);
  assert.equal(status.type, 'status');
  assert.match(status.text, /denied/);
  assert.deepEqual(status.retry, { peer: ann, modes: ['audio', 'recvonly'], answer: false });
  assert.ok(has(denied.effects, 'teardown'));

  const audio = run([{ type: 'dial', peer: ann, mode: 'audio' }, { type: 'media-failed', kind: 'not-found' }]);
  assert.deepEqual(audio.effects.at(-1).retry.modes, ['recvonly']);
});

test('camera problems for the callee keep the dialog open with fallbacks', () => {
  const { call, effects } = run([{ type: 'accept' }, { type: 'media-failed', kind: 'denied' }], ringing);
  assert.equal(call.state, 'ringing');
  assert.equal(call.answering, false);
  assert.deepEqual(effects.at(-1).retry, { peer: ann, modes: ['audio', 'recvonly'], answer: true });
  const retried = run([{ type: 'accept', mode: 'recvonly' }], call);
  assert.equal(retried.effects[0].mode, 'recvonly');
  assert.equal(retried.call.mode, 'recvonly');
});

test('setup errors end the attempt and tell the other side', () => {
  const caller = run([{ type: 'failed', message: 'bad sdp' }], calling);
  assert.equal(caller.call.state, 'idle');
  assert.equal(lastStatus(caller.effects), 'The call could not be set up: bad sdp.');
  assert.deepEqual(sent(caller.effects), [{ type: 'hangup', data: { target: ann.id } }]);

  const callee = run([{ type: 'accept' }, { type: 'failed', message: 'x' }], ringing);
  assert.equal(callee.call.state, 'idle');
  assert.deepEqual(sent(callee.effects), [{ type: 'reject', data: { target: ann.id, reason: 'failed' } }]);
});

test('an unknown target during an attempt means the peer is gone', () => {
  const { call, effects } = run([{ type: 'target-gone' }], calling);
  assert.equal(call.state, 'idle');
  assert.equal(lastStatus(effects), 'Ann is no longer connected.');
  // A running call outlives the server forgetting an id (it reconnected).
  assert.equal(run([{ type: 'target-gone' }], inCall).call, inCall);
});

test('renames reach the call in every state', () => {
  for (const start of [calling, ringing, inCall]) {
    const { call } = run([{ type: 'peer-updated', peer: { id: ann.id, name: 'Annie' } }], start);
    assert.equal(call.peer.name, 'Annie');
    assert.equal(call.state, start.state);
  }
  const { call, effects } = run([{ type: 'peer-updated', peer: { id: ann.id, name: 'Annie' } }, { type: 'hangup-received', from: ann.id }], inCall);
  assert.equal(call.state, 'idle');
  assert.equal(lastStatus(effects), 'Annie ended the call.');
});

test('events that do not apply change nothing', () => {
  const noise = [
    { type: 'accept' },
    { type: 'decline' },
    { type: 'timeout' },
    { type: 'hangup' },
    { type: 'cancel' },
    { type: 'reject-received', from: ann.id },
    { type: 'hangup-received', from: ann.id },
    { type: 'peer-left', id: ann.id },
    { type: 'link-changed', channel: 'closed' },
    { type: 'dance' },
    {},
    null,
  ];
  for (const event of noise) {
    const { call, effects } = transition(idleCall, event);
    assert.equal(call, idleCall, JSON.stringify(event));
    assert.deepEqual(effects, []);
  }
  assert.equal(run([{ type: 'dial', peer: bob }], calling).call, calling);
  assert.equal(run([{ type: 'dial', peer: {} }]).call, idleCall);
  assert.equal(run([{ type: 'offer-received', peer: ann }]).call, idleCall);
});

test('every path returns to idle with teardown', () => {
  for (const start of [calling, ringing, inCall]) {
    const { call, effects } = run([{ type: 'hangup' }], start);
    assert.equal(call, idleCall, start.state);
    assert.ok(has(effects, 'teardown'));
    assert.ok(has(effects, 'stop-timer'));
  }
});

test('connection states are said in words, not WebRTC terms', () => {
  for (const [state, words] of [
    ['new', 'Connecting\u2026'],
    ['checking', 'Connecting\u2026'],
    ['connecting', 'Connecting\u2026'],
    ['connected', 'Connected'],
    ['disconnected', 'Reconnecting\u2026'],
    ['failed', 'Connection lost'],
    ['closed', 'Ended'],
    [undefined, 'Connecting\u2026'],
  ]) {
    assert.equal(connectionText(state), words, String(state));
  }
  // A poor link is only worth saying while connected.
  assert.equal(connectionText('connected', true), 'Poor connection');
  assert.equal(connectionText('disconnected', true), 'Reconnecting\u2026');
});

test('a call that rang and ended unanswered is recorded as missed, a declined or answered one is not', () => {
  const missedOf = (effects) => effects.filter((e) => e.type === 'missed').map((e) => e.peer.id);
  for (const ending of [
    { type: 'timeout' },
    { type: 'hangup-received', from: ann.id, reason: 'timeout' },
    { type: 'hangup-received', from: ann.id },
    { type: 'peer-left', id: ann.id },
  ]) {
    assert.deepEqual(missedOf(run([ending], ringing).effects), [ann.id], ending.type);
  }
  assert.deepEqual(missedOf(run([{ type: 'decline' }], ringing).effects), []);
  // Accept pressed, then the caller gave up while the camera was opening.
  const answering = run([{ type: 'accept', mode: 'full' }], ringing).call;
  assert.equal(answering.answering, true);
  assert.deepEqual(missedOf(run([{ type: 'peer-left', id: ann.id }], answering).effects), []);
  // Someone else's hangup does not end (or miss) this call.
  assert.deepEqual(missedOf(run([{ type: 'hangup-received', from: bob.id }], ringing).effects), []);
});
