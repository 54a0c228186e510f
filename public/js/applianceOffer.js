// Sending a stream to the appliance's media server, shared by going live
// (live.js) and meetings (meeting.js): offer the send-only connection with
// a `publish` message, wait for the server's answer, then for the media
// connection, all within one deadline. The server's answer or refusal
// arrives as a separate message; the caller hands it to `answer`/`refuse`.

/**
 * @param {RTCPeerConnection} pc  with its send-only transceivers added
 * @param {(message: object) => boolean} send
 * @param {(sdp: string) => object} message  the `publish` message for an offer
 * @param {number} deadlineMs
 * @returns {{done: Promise<void>, answer(sdp: string): void, refuse(text?: string): void}}
 *   `done` resolves once media flows and rejects on refusal, failure or the deadline
 */
export function offerToAppliance(pc, send, message, deadlineMs) {
  let settle = null;
  const answered = new Promise((resolve, reject) => {
    settle = { resolve, reject };
  });
  const connected = new Promise((resolve, reject) => {
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected') resolve();
      if (pc.connectionState === 'failed') reject(new Error('the media connection failed'));
    });
  });
  // Settled later or never: a rejection nobody waits for is not an error.
  connected.catch(() => {});
  const done = (async () => {
    let timer;
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('the appliance did not connect in time')), deadlineMs);
    });
    try {
      await pc.setLocalDescription(await pc.createOffer());
      if (!send(message(pc.localDescription.sdp))) throw new Error('the server connection was lost');
      const sdp = await Promise.race([answered, deadline]);
      await pc.setRemoteDescription({ type: 'answer', sdp });
      await Promise.race([connected, deadline]);
    } finally {
      clearTimeout(timer);
    }
  })();
  return {
    done,
    answer: (sdp) => settle.resolve(sdp),
    refuse: (text) => settle.reject(new Error(text || 'the appliance refused the stream')),
  };
}
