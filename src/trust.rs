//! Helping devices trust the local authority: `/ca.crt` (the certificate),
//! `/ca.mobileconfig` (an iOS configuration profile that installs it) and
//! `/trust` (a page with the steps, the visitor's platform first). All are
//! served over plain HTTP as well, since a phone needs them before https
//! works.
//!
//! The same page is the *landing*: plain HTTP at `/` (and a room's page) is
//! where the banner's first URL and QR code lead. Its script
//! (`public/trust.js`) tries one small `https://` request; a device that
//! already trusts the authority goes straight on to the app, any other sees
//! the steps and a "Done, open the app" button that checks again.

use base64::Engine;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use crate::app::App;
use crate::respond::{page_response, response, text_response, Body};

/// Who is asking: the trust page puts their platform first and allows its
/// script to probe `https://` on the address they used.
#[derive(Debug, Clone, Copy, Default)]
pub struct Visitor<'a> {
    /// The request's `Host` (already checked to be a plain `host[:port]`).
    pub authority: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// Answers the trust routes; `None` for any other path.
pub fn route(path: &str, app: &App, visitor: Visitor<'_>) -> Option<Response<Body>> {
    let res = match path {
        "/ca.crt" | "/ca.mobileconfig" => {
            let Some(authority) = &app.authority else {
                return Some(text_response(
                    StatusCode::NOT_FOUND,
                    "This server uses a certificate given with KEY and CERT, so there is no local authority to install.\n",
                ));
            };
            if path == "/ca.crt" {
                download(
                    authority.der.to_vec(),
                    "application/x-x509-ca-cert",
                    "lanrtc-ca.crt",
                )
            } else {
                let profile = mobileconfig(&authority.der, &authority.fingerprint, &app.host);
                download(
                    profile.into_bytes(),
                    "application/x-apple-aspen-config",
                    "lanrtc.mobileconfig",
                )
            }
        }
        "/trust" => page(app, visitor, false),
        _ => return None,
    };
    Some(res)
}

/// The landing: the trust page in the mode that goes on to the app by
/// itself once `https://` works.
pub fn landing(app: &App, visitor: Visitor<'_>) -> Response<Body> {
    page(app, visitor, true)
}

/// The platforms the page has steps for, in its default order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Ios,
    Android,
    Mac,
    Windows,
    Linux,
}

impl Platform {
    const ALL: [Platform; 5] = [
        Platform::Ios,
        Platform::Android,
        Platform::Mac,
        Platform::Windows,
        Platform::Linux,
    ];

    /// From a User-Agent. iPadOS Safari says "Macintosh": the page's script
    /// opens the iPad steps when a "Mac" has a touch screen.
    pub fn from_user_agent(ua: &str) -> Option<Platform> {
        let has = |s: &str| ua.contains(s);
        if has("iPhone") || has("iPad") || has("iPod") {
            Some(Platform::Ios)
        } else if has("Android") {
            Some(Platform::Android)
        } else if has("Macintosh") || has("Mac OS X") {
            Some(Platform::Mac)
        } else if has("Windows") {
            Some(Platform::Windows)
        } else if has("Linux") || has("X11") || has("CrOS") {
            Some(Platform::Linux)
        } else {
            None
        }
    }

    fn id(self) -> &'static str {
        match self {
            Platform::Ios => "ios",
            Platform::Android => "android",
            Platform::Mac => "mac",
            Platform::Windows => "windows",
            Platform::Linux => "linux",
        }
    }

    fn steps(self) -> &'static str {
        match self {
            Platform::Ios => IOS_STEPS,
            Platform::Android => ANDROID_STEPS,
            Platform::Mac => MAC_STEPS,
            Platform::Windows => WINDOWS_STEPS,
            Platform::Linux => LINUX_STEPS,
        }
    }
}

/// `AB:CD:…` with a break opportunity after each colon only, so a narrow
/// screen wraps between bytes, never inside one.
fn fingerprint_html(fingerprint: &str) -> String {
    fingerprint.replace(':', ":<wbr>")
}
fn download(bytes: Vec<u8>, content_type: &'static str, filename: &str) -> Response<Body> {
    let mut res = response(StatusCode::OK, content_type, bytes);
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// A UUID derived from the authority, so downloading the profile twice
/// replaces it instead of installing a second copy.
fn stable_uuid(fingerprint: &str, purpose: &str) -> uuid::Uuid {
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{purpose}:{fingerprint}").as_bytes(),
    );
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_ref()[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// An Apple configuration profile with one `com.apple.security.root` payload.
pub fn mobileconfig(der: &[u8], fingerprint: &str, host: &str) -> String {
    let data = base64::engine::general_purpose::STANDARD.encode(der);
    let cert_uuid = stable_uuid(fingerprint, "certificate");
    let profile_uuid = stable_uuid(fingerprint, "profile");
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>PayloadContent</key>
  <array>
    <dict>
      <key>PayloadCertificateFileName</key><string>lanrtc-ca.crt</string>
      <key>PayloadContent</key><data>{data}</data>
      <key>PayloadDescription</key><string>Lets this device open the lanrtc video-call app on {host} securely.</string>
      <key>PayloadDisplayName</key><string>lanrtc local authority</string>
      <key>PayloadIdentifier</key><string>lanrtc.authority.{cert_uuid}</string>
      <key>PayloadType</key><string>com.apple.security.root</string>
      <key>PayloadUUID</key><string>{cert_uuid}</string>
      <key>PayloadVersion</key><integer>1</integer>
    </dict>
  </array>
  <key>PayloadDescription</key><string>Installs the certificate authority of the lanrtc server on {host}.</string>
  <key>PayloadDisplayName</key><string>lanrtc on {host}</string>
  <key>PayloadIdentifier</key><string>lanrtc.profile.{profile_uuid}</string>
  <key>PayloadRemovalDisallowed</key><false/>
  <key>PayloadType</key><string>Configuration</string>
  <key>PayloadUUID</key><string>{profile_uuid}</string>
  <key>PayloadVersion</key><integer>1</integer>
</dict>
</plist>
"#
    )
}

fn page(app: &App, visitor: Visitor<'_>, landing: bool) -> Response<Body> {
    let Some(authority) = app.authority.as_ref() else {
        return page_response(StatusCode::OK, NO_AUTHORITY_PAGE.to_string());
    };
    let mine = visitor.user_agent.and_then(Platform::from_user_agent);
    let mut sections = String::new();
    for platform in mine
        .into_iter()
        .chain(Platform::ALL.into_iter().filter(|p| Some(*p) != mine))
    {
        let open = if Some(platform) == mine { " open" } else { "" };
        sections.push_str(&format!(
            "<details id=\"{}\"{open}>{}</details>\n",
            platform.id(),
            platform.steps()
        ));
    }
    let body = TRUST_PAGE
        .replace("{fingerprint}", &fingerprint_html(&authority.fingerprint))
        .replace("{sections}", &sections)
        .replace("{mode}", if landing { "landing" } else { "trust" })
        .replace("{host}", &app.host);
    // This page must render over plain HTTP before the device trusts us;
    // its script may only ask the same address over https.
    let probe = visitor
        .authority
        .map(|a| format!(" https://{a}"))
        .unwrap_or_default();
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; img-src 'self'{probe}; connect-src 'self'{probe}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    let mut res = page_response(StatusCode::OK, body);
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

const NO_AUTHORITY_PAGE: &str = r#"<!doctype html>
<html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Trusting this server</title>
<p>This server uses a certificate given to it by its owner (KEY and CERT), not a local authority.
If your browser warns about it, ask the person who runs it how the certificate was made.</p>
<p><a href="/">Back to the app</a></p>
</html>
"#;

const TRUST_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Trust this lanrtc server</title>
<link rel="icon" href="/favicon.svg">
<style>
  /* The app's own colours (public/style.css), so trusting feels like the same place. */
  :root { --fg: #1f2427; --bg: #f5f4f0; --card: #fff; --code: #ecebe6; --accent: #2f6f62; --accent-text: #fff; --muted: #5b6368; }
  @media (prefers-color-scheme: dark) {
    :root { --fg: #e8e6e1; --bg: #15191b; --card: #1e2427; --code: #283034; --accent: #58a894; --accent-text: #0e1a17; --muted: #a3aaae; }
  }
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 0 auto; padding: 1rem; color: var(--fg); background: var(--bg); }
  h1 { font-size: 1.5rem; } h2 { font-size: 1.1rem; margin-top: 1.5rem; }
  code { background: var(--code); padding: 0 .2rem; border-radius: 3px; overflow-wrap: anywhere; }
  code.fingerprint { overflow-wrap: normal; word-break: normal; }
  a { color: var(--accent); }
  .buttons a, button { display: inline-block; margin: .25rem .5rem .25rem 0; padding: .6rem 1rem; background: var(--accent); color: var(--accent-text); border: 0; border-radius: 10px; text-decoration: none; font: inherit; cursor: pointer; }
  details { background: var(--card); border-radius: 6px; padding: .5rem 1rem; margin: .5rem 0; }
  summary { cursor: pointer; font-weight: 600; }
  #checking, #status { color: var(--muted); }
  [hidden] { display: none !important; }
</style>
<script src="/trust.js" defer></script>
</head>
<body data-mode="{mode}">
<p id="checking" hidden>Checking whether this device already trusts the server…</p>
<main id="steps">
<h1>Trust this lanrtc server</h1>
<p>Video calls need a secure connection. This server (<b>{host}</b>) makes its own certificates, signed by a small
certificate authority that lives only on it. Install that authority once on each device and the app opens without
warnings, now and after every restart.</p>
<p>Before you install it, check that the fingerprint your device shows matches the one the server printed:</p>
<p>SHA-256 <code class="fingerprint">{fingerprint}</code></p>
<p class="buttons"><a href="/ca.mobileconfig">Profile for iPhone / iPad</a><a href="/ca.crt">Certificate (all other devices)</a></p>
{sections}
<p><button id="done" type="button">Done, open the app</button></p>
<p id="status" role="status"></p>
<p>Or open the app without checking: <a id="app-link" href="/">the video-call page</a>. If the browser still warns, reload it or restart the browser.</p>
</main>
</body>
</html>
"#;

const IOS_STEPS: &str = r#"<summary>iPhone and iPad</summary><ol>
<li>Open this page in Safari and tap <b>Profile for iPhone / iPad</b>, then <b>Allow</b>.</li>
<li>Open <b>Settings → General → VPN &amp; Device Management</b>, tap <b>lanrtc on {host}</b> and <b>Install</b>.</li>
<li>Open <b>Settings → General → About → Certificate Trust Settings</b> and switch on <b>lanrtc local authority</b> (easy to miss, and needed).</li>
</ol>"#;

const ANDROID_STEPS: &str = r#"<summary>Android</summary><ol>
<li>Tap <b>Certificate</b> to download <code>lanrtc-ca.crt</code>.</li>
<li>Open <b>Settings → Security → Encryption &amp; credentials → Install a certificate → CA certificate</b>
(the exact names vary by phone; search settings for “CA certificate”), confirm, and pick the downloaded file.</li>
</ol>"#;

const MAC_STEPS: &str = r#"<summary>Mac</summary><ol>
<li>Download the <b>Certificate</b> and double-click it; Keychain Access adds it to a keychain.</li>
<li>Find <b>lanrtc local authority</b>, open it, expand <b>Trust</b> and set <b>When using this certificate</b> to <b>Always Trust</b>.</li>
</ol>"#;

const WINDOWS_STEPS: &str = r#"<summary>Windows</summary><ol>
<li>Download the <b>Certificate</b> and open it, then choose <b>Install Certificate…</b>.</li>
<li>Pick <b>Current User</b>, then <b>Place all certificates in the following store → Trusted Root Certification Authorities</b>, and finish.</li>
</ol>"#;

const LINUX_STEPS: &str = r#"<summary>Linux and ChromeOS</summary><ol>
<li>Chrome, Chromium and ChromeOS: <b>Settings → Privacy and security → Security → Manage certificates → Authorities → Import</b>, pick the file and tick “Trust this certificate for identifying websites”.</li>
<li>Firefox: <b>Settings → Privacy &amp; Security → Certificates → View Certificates → Authorities → Import</b>.</li>
<li>Whole system (curl and friends): copy it to <code>/usr/local/share/ca-certificates/lanrtc.crt</code> and run <code>sudo update-ca-certificates</code>.</li>
</ol>"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_from_user_agents() {
        for (ua, platform) in [
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Mobile/15E148 Safari/604.1", Some(Platform::Ios)),
            ("Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15", Some(Platform::Ios)),
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36", Some(Platform::Android)),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15", Some(Platform::Mac)),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36", Some(Platform::Windows)),
            ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", Some(Platform::Linux)),
            ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 Chrome/126.0", Some(Platform::Linux)),
            ("curl/8.5.0", None),
            ("", None),
        ] {
            assert_eq!(Platform::from_user_agent(ua), platform, "{ua}");
        }
    }

    #[test]
    fn the_fingerprint_breaks_only_between_bytes() {
        let html = fingerprint_html("AB:CD:EF");
        assert_eq!(html, "AB:<wbr>CD:<wbr>EF");
    }
}
