// The incoming-call prompt: a role="dialog" labelled "<name> is calling",
// with Accept and Decline. Accept takes focus when it opens; focus goes back
// where it was when it closes. When the camera could not be used for the
// answer, the dialog itself says why and offers the other ways to answer
// (without camera, receive-only) in place of Accept: one set of choices.

import { ANSWER_LABELS } from '../logic/media.js';

/**
 * @param {object} els  {root, title, detail, accept, decline, choices}
 * @param {{onAccept: () => void, onDecline: () => void, onChoice: (mode: string) => void}} handlers
 */
export function createIncomingDialog(
  { root, title, detail, accept, decline, choices },
  { onAccept, onDecline, onChoice },
) {
  let open = false;
  let returnFocus = null;
  let shownChoices = '';
  accept.addEventListener('click', onAccept);
  decline.addEventListener('click', onDecline);

  function renderChoices(modes) {
    const key = modes.join(',');
    if (key === shownChoices) return;
    shownChoices = key;
    choices.replaceChildren(
      ...modes.map((mode) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.textContent = ANSWER_LABELS[mode];
        b.addEventListener('click', () => onChoice(mode));
        return b;
      }),
    );
    // Accept is hidden meanwhile: the first way to answer takes the focus.
    if (modes.length > 0) choices.firstChild.focus();
  }

  return {
    /**
     * @param {{open: boolean, name?: string, answering?: boolean,
     *   problem?: {text: string, modes: string[]} | null}} props
     */
    render(props) {
      if (props.open) {
        title.textContent = `${props.name} is calling`;
        const problem = !props.answering && props.problem ? props.problem : null;
        detail.textContent = props.answering
          ? 'Starting your camera and microphone\u2026'
          : problem
            ? problem.text
            : 'Accept to answer with your camera and microphone.';
        accept.hidden = Boolean(problem);
        renderChoices(problem ? problem.modes : []);
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
