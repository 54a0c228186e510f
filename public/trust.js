// The trust page and the plain-HTTP landing (see src/trust.rs). On the
// landing, one small https:// request to this same address tells whether
// this device already trusts the server's authority: if it does, the app
// opens at once; if not, the steps for this device stay on screen. "Done,
// open the app" checks again. No framework, no modules: this page must run
// on any browser that reaches it, before anything else works.
(function () {
  'use strict';
  var PROBE_DEADLINE_MS = 4000;
  var body = document.body;
  var landing = body.getAttribute('data-mode') === 'landing';
  var checking = document.getElementById('checking');
  var steps = document.getElementById('steps');
  var status = document.getElementById('status');
  var done = document.getElementById('done');
  var appLink = document.getElementById('app-link');

  // The access key may come as #key=… (kept off the network on this
  // unencrypted page) or as ?key=…; the app takes it as ?key= over https.
  function accessKey() {
    var m = /(?:^|[#&?])key=([^&#]*)/.exec(location.hash + '&' + location.search);
    return m ? decodeURIComponent(m[1]) : null;
  }

  function appUrl() {
    var path = body.getAttribute('data-mode') === 'landing' ? location.pathname : '/';
    var key = accessKey();
    return 'https://' + location.host + path + (key ? '?key=' + encodeURIComponent(key) : '');
  }

  // Resolves true when an https request to this address completes (any
  // status: the TLS handshake is what matters), false on a certificate
  // error, a refusal or the deadline.
  function trusted() {
    return new Promise(function (resolve) {
      if (location.protocol === 'https:') return resolve(true);
      var settled = false;
      function finish(value) {
        if (!settled) {
          settled = true;
          resolve(value);
        }
      }
      setTimeout(function () { finish(false); }, PROBE_DEADLINE_MS);
      var url = 'https://' + location.host + '/favicon.svg?probe=' + Date.now();
      if (window.fetch) {
        fetch(url, { mode: 'no-cors', cache: 'no-store', credentials: 'omit' })
          .then(function () { finish(true); }, function () { finish(false); });
      } else {
        var img = new Image();
        img.onload = function () { finish(true); };
        img.onerror = function () { finish(false); };
        img.src = url;
      }
    });
  }

  // iPadOS Safari says it is a Mac; a Mac with a touch screen is an iPad.
  var ios = document.getElementById('ios');
  var mac = document.getElementById('mac');
  if (ios && mac && mac.open && navigator.maxTouchPoints > 1) {
    mac.open = false;
    ios.open = true;
    ios.parentNode.insertBefore(ios, mac);
  }

  if (appLink) appLink.href = appUrl();

  done.addEventListener('click', function () {
    done.disabled = true;
    status.textContent = 'Checking…';
    trusted().then(function (ok) {
      done.disabled = false;
      if (ok) {
        status.textContent = 'This device trusts the server. Opening the app…';
        location.assign(appUrl());
      } else {
        status.textContent = 'This device does not trust the server yet. Finish the steps above for your device '
          + '(on an iPhone or iPad the last one, Certificate Trust Settings, is easy to miss), '
          + 'close and reopen the browser if it still warns, then press the button again.';
      }
    });
  });

  if (!landing) return;
  steps.hidden = true;
  checking.hidden = false;
  trusted().then(function (ok) {
    if (ok) {
      location.replace(appUrl());
      return;
    }
    checking.hidden = true;
    steps.hidden = false;
  });
})();
