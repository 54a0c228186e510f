// The connection indicator (#signal-state).

export function createSignalState(el) {
  return {
    render(connected) {
      const text = connected ? 'Connected' : 'Reconnecting to the server\u2026';
      if (el.textContent !== text) el.textContent = text;
      el.dataset.connected = String(connected);
    },
  };
}
