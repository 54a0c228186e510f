// How long to wait before reconnecting to the signaling server. No DOM access.

/**
 * Half a second, doubling per failed attempt up to 15 s, with ±30 % jitter so
 * that every device on the LAN does not reconnect in the same instant after
 * the server restarts.
 */
export const BACKOFF = Object.freeze({ baseMs: 500, maxMs: 15_000, jitter: 0.3 });

/**
 * The delay before reconnect attempt number `attempt` (0 for the first retry).
 * `random` returns a number in [0, 1); it is a parameter so tests can fix it.
 * The result never exceeds `maxMs`.
 */
export function backoffDelay(attempt, random = Math.random, options = BACKOFF) {
  const { baseMs, maxMs, jitter } = options;
  const n = Number.isFinite(attempt) ? Math.max(0, Math.floor(attempt)) : 0;
  // Capping the exponent keeps 2 ** n finite however long the server is away.
  const raw = Math.min(maxMs, baseMs * 2 ** Math.min(n, 30));
  const factor = 1 + jitter * (2 * random() - 1);
  return Math.round(Math.min(maxMs, Math.max(0, raw * factor)));
}
