// Formatting for the call timer. No DOM access.

/** `ms` as mm:ss; minutes keep counting past 59 (61:05). */
export function formatDuration(ms) {
  const total = Number.isFinite(ms) ? Math.max(0, Math.floor(ms / 1000)) : 0;
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return `${String(minutes).padStart(2, '0')}:${String(seconds).padStart(2, '0')}`;
}
