// Display names: cleaning (the same rules the server applies, so what a
// person sees in their own field is what everyone else sees) and the random
// two-word name a first visit starts with. No DOM access.

/** The server keeps at most this many characters (Unicode scalar values). */
export const MAX_NAME_CHARS = 64;

/** What an empty name becomes, on the server and here. */
export const FALLBACK_NAME = 'Anonymous';

// Control characters (Unicode category Cc, as Rust's char::is_control) and the
// bidirectional marks and overrides the server drops.
const DROPPED = /[\p{Cc}\u200E\u200F\u202A-\u202E\u2066-\u2069]/gu;
// Rust's str::trim removes White_Space characters, not JavaScript's wider set.
const LEADING_SPACE = /^\p{White_Space}+/u;
const TRAILING_SPACE = /\p{White_Space}+$/u;

/** Cleans a name exactly as the server does. */
export function cleanName(raw) {
  const text = typeof raw === 'string' ? raw : '';
  const kept = text.replace(DROPPED, '').replace(LEADING_SPACE, '').replace(TRAILING_SPACE, '');
  const cut = Array.from(kept).slice(0, MAX_NAME_CHARS).join('').replace(TRAILING_SPACE, '');
  return cut === '' ? FALLBACK_NAME : cut;
}

const ADJECTIVES = [
  'Amber', 'Brave', 'Bright', 'Calm', 'Clever', 'Cosy', 'Curious', 'Daring',
  'Eager', 'Gentle', 'Golden', 'Happy', 'Jolly', 'Kind', 'Lively', 'Lucky',
  'Mellow', 'Misty', 'Nimble', 'Patient', 'Quiet', 'Rapid', 'Rosy', 'Silver',
  'Sleepy', 'Sunny', 'Swift', 'Tidy', 'Velvet', 'Witty', 'Zesty', 'Cheerful',
];

const ANIMALS = [
  'Otter', 'Badger', 'Beaver', 'Crane', 'Dolphin', 'Falcon', 'Fox', 'Gecko',
  'Hedgehog', 'Heron', 'Koala', 'Lynx', 'Marten', 'Moose', 'Newt', 'Owl',
  'Panda', 'Pelican', 'Puffin', 'Quail', 'Rabbit', 'Raven', 'Robin', 'Seal',
  'Sparrow', 'Squirrel', 'Swan', 'Tiger', 'Turtle', 'Walrus', 'Wombat', 'Wren',
];

function pick(list, random) {
  const i = Math.floor(random() * list.length);
  return list[Math.min(Math.max(i, 0), list.length - 1)];
}

/** A friendly two-word name such as "Amber Otter". */
export function randomName(random = Math.random) {
  return `${pick(ADJECTIVES, random)} ${pick(ANIMALS, random)}`;
}

/** Up to two letters for an avatar: "Ada Lovelace" is "AL". */
export function initials(name) {
  const words = String(name).split(/\s+/).filter(Boolean);
  const letters = words.slice(0, 2).map((w) => Array.from(w)[0]);
  return letters.join('').toUpperCase() || '?';
}
