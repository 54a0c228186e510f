// The app's safety net: a classic script that runs before the modules and
// needs none of them. If the app did not start (a script with a syntax
// error, a file that failed to load, an exception while wiring the page),
// it says so instead of a page that looks stuck, and keeps a socket open to
// the server so that the next version of the files (saving a fix, with live
// reload) reloads the page by itself.
(function () {
  'use strict';

  var problem = null;
  // Module syntax errors and uncaught exceptions are reported here; a
  // script that fails to load fires a non-bubbling error event, seen in the
  // capture phase.
  window.addEventListener(
    'error',
    function (event) {
      if (window.lanrtcStarted) return;
      var target = event.target;
      if (target && target.tagName === 'SCRIPT') {
        problem = 'could not load ' + (target.getAttribute('src') || 'a script');
      } else if (event.message) {
        var where = event.filename ? ' (' + event.filename.replace(location.origin, '') + ':' + event.lineno + ')' : '';
        problem = event.message + where;
      }
    },
    true,
  );

  // Module scripts have all run (or failed) by DOMContentLoaded.
  document.addEventListener('DOMContentLoaded', function () {
    // A moment more for an error reported just after.
    setTimeout(function () {
      if (!window.lanrtcStarted) failed();
    }, 0);
  });

  function failed() {
    document.body.dataset.boot = 'failed';
    var state = document.getElementById('signal-state');
    if (state) state.textContent = 'The app failed to load';
    var status = document.getElementById('status');
    if (status) {
      status.textContent =
        'The app failed to load' + (problem ? ': ' + problem : '') +
        '. This page will reload by itself when the app\u2019s files are fixed; or reload it yourself.';
    }
    listen();
  }

  // Waits for a version of the files other than the one that failed.
  function listen() {
    var first = null;
    var delay = 500;
    function connect() {
      var room = /^\/r\/([^/]+)\/?$/.exec(location.pathname);
      var socket = new WebSocket('wss://' + location.host + '/rtc' + (room ? '?room=' + room[1] : ''));
      socket.onmessage = function (event) {
        var message;
        try {
          message = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        if (!message || message.type !== 'ready' || typeof message.version !== 'string') return;
        delay = 500;
        if (first === null) first = message.version;
        else if (message.version !== first) location.reload();
      };
      socket.onclose = function () {
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 10000);
      };
    }
    connect();
  }
})();
