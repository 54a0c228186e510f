// A remote video as a phone user expects it: started with an explicit
// play(), and when the browser refuses to autoplay (iOS Safari without a
// recent tap, a data saver), a "Tap to play" button instead of a frozen
// frame; plus Fullscreen and Picture-in-picture where the browser has them.

/**
 * @param {HTMLVideoElement} video
 * @param {object} els  {play, fullscreen, pip} buttons in the same stage (any may be null)
 */
export function createVideoView(video, { play, fullscreen, pip }) {
  let stream = null;

  function tryPlay() {
    const played = video.play();
    if (played && typeof played.then === 'function') {
      played.then(
        () => {
          if (play) play.hidden = true;
        },
        (err) => {
          // A newer srcObject interrupts the old play(): not a refusal.
          if (err && err.name === 'AbortError') return;
          if (play && video.srcObject) play.hidden = false;
        },
      );
    }
  }

  if (play) play.addEventListener('click', tryPlay);

  const stage = video.parentElement;
  // iPhone Safari has no element fullscreen, only the video's own player.
  const canFullscreen = Boolean(
    stage && (stage.requestFullscreen || stage.webkitRequestFullscreen || video.webkitEnterFullscreen),
  );
  if (fullscreen) {
    fullscreen.hidden = !canFullscreen;
    fullscreen.addEventListener('click', () => {
      const current = document.fullscreenElement || document.webkitFullscreenElement;
      if (current) (document.exitFullscreen || document.webkitExitFullscreen).call(document);
      else if (stage.requestFullscreen) stage.requestFullscreen().catch(() => {});
      else if (stage.webkitRequestFullscreen) stage.webkitRequestFullscreen();
      else if (video.webkitEnterFullscreen) video.webkitEnterFullscreen(); // iPhone: the video itself
    });
    document.addEventListener('fullscreenchange', () => {
      fullscreen.setAttribute('aria-pressed', String(document.fullscreenElement === stage));
    });
  }
  const canPip = Boolean(document.pictureInPictureEnabled && video.requestPictureInPicture);
  if (pip) {
    pip.hidden = !canPip;
    pip.addEventListener('click', () => {
      if (document.pictureInPictureElement === video) document.exitPictureInPicture().catch(() => {});
      else video.requestPictureInPicture().catch(() => {});
    });
    video.addEventListener('enterpictureinpicture', () => pip.setAttribute('aria-pressed', 'true'));
    video.addEventListener('leavepictureinpicture', () => pip.setAttribute('aria-pressed', 'false'));
  }

  return {
    /** Shows `next` (or nothing); starts it playing. */
    show(next) {
      if (next === stream && video.srcObject === next) return;
      stream = next;
      if (video.srcObject !== next) video.srcObject = next;
      if (!next) {
        if (play) play.hidden = true;
        return;
      }
      tryPlay();
    },

    /** Whether the browser refused to play until tapped. */
    get waitingForTap() {
      return Boolean(play && !play.hidden);
    },
  };
}
