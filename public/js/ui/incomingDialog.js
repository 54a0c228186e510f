// The incoming-call prompt: a role="dialog" labelled "<name> is calling",
// with Accept and Decline. Accept takes focus when it opens; focus goes back
// where it was when it closes.

/**
 * @param {object} els  {root, title, detail, accept, decline}
 * @param {{onAccept: () => void, onDecline: () => void}} handlers
 */
export function createIncomingDialog({ root, title, detail, accept, decline }, { onAccept, onDecline }) {
  let open = false;
  let returnFocus = null;
  accept.addEventListener('click', onAccept);
  decline.addEventListener('click', onDecline);

  return {
    /** @param {{open: boolean, name?: string, answering?: boolean}} props */
    render(props) {
      if (props.open) {
        title.textContent = `${props.name} is calling`;
        detail.textContent = props.answering
          ? 'Starting your camera and microphone\u2026'
          : 'Accept to answer with your camera and microphone.';
      }
      if (props.open === open) return;
      open = props.open;
      root.hidden = !open;
      if (open) {
        returnFocus = document.activeElement;
        accept.focus();
      } else {
        const target = returnFocus;
        returnFocus = null;
        const active = document.activeElement;
        if (active && root.contains(active)) {
          if (target && target !== document.body && target.isConnected) target.focus();
          else active.blur();
        }
      }
    },
  };
}
