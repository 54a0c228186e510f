// The connection indicator (#signal-state).

export function createSignalState(el) {
  let wasConnected = false;
  return {
    render(connected) {
      wasConnected = wasConnected || connected;
      const text = connected
        ? 'Connected'
        : wasConnected
          ? 'Reconnecting to the server\u2026'
          : 'Connecting to the server\u2026';
      if (el.textContent !== text) el.textContent = text;
      el.dataset.connected = String(connected);
    },
  };
}
