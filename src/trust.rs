//! Helping devices trust the local authority: `/ca.crt` (the certificate),
//! `/ca.mobileconfig` (an iOS configuration profile that installs it) and
//! `/trust` (a page with the steps for each platform). All three are served
//! over plain HTTP as well, since a phone needs them before https works.

use base64::Engine;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use crate::app::App;
use crate::respond::{page_response, response, text_response, Body};

/// Answers the trust routes; `None` for any other path.
pub fn route(path: &str, app: &App) -> Option<Response<Body>> {
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
        "/trust" => page(app),
        _ => return None,
    };
    Some(res)
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

fn page(app: &App) -> Response<Body> {
    let fingerprint = app.authority.as_ref().map(|a| a.fingerprint.as_str());
    let body = match fingerprint {
        Some(fp) => TRUST_PAGE
            .replace("{fingerprint}", fp)
            .replace("{host}", &app.host),
        None => NO_AUTHORITY_PAGE.to_string(),
    };
    // This page must render over plain HTTP before the device trusts us.
    page_response(StatusCode::OK, body)
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
<title>Trust this lanrtc server</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 0 auto; padding: 1rem; color: #1d2330; background: #f6f7f9; }
  h1 { font-size: 1.5rem; } h2 { font-size: 1.1rem; margin-top: 1.5rem; }
  code { word-break: break-all; background: #e8ebf0; padding: 0 .2rem; border-radius: 3px; }
  .buttons a { display: inline-block; margin: .25rem .5rem .25rem 0; padding: .6rem 1rem; background: #2458d6; color: #fff; border-radius: 6px; text-decoration: none; }
  details { background: #fff; border-radius: 6px; padding: .5rem 1rem; margin: .5rem 0; }
  summary { cursor: pointer; font-weight: 600; }
</style>
</head>
<body>
<h1>Trust this lanrtc server</h1>
<p>Video calls need a secure connection. This server (<b>{host}</b>) makes its own certificates, signed by a small
certificate authority that lives only on it. Install that authority once on each device and the app opens without
warnings, now and after every restart.</p>
<p>Before you install it, check that the fingerprint your device shows matches the one the server printed:</p>
<p><code>SHA-256 {fingerprint}</code></p>
<p class="buttons"><a href="/ca.mobileconfig">Profile for iPhone / iPad</a><a href="/ca.crt">Certificate (all other devices)</a></p>

<details><summary>iPhone and iPad</summary><ol>
<li>Open this page in Safari and tap <b>Profile for iPhone / iPad</b>, then <b>Allow</b>.</li>
<li>Open <b>Settings → General → VPN &amp; Device Management</b>, tap <b>lanrtc on {host}</b> and <b>Install</b>.</li>
<li>Open <b>Settings → General → About → Certificate Trust Settings</b> and switch on <b>lanrtc local authority</b>.</li>
</ol></details>

<details><summary>Android</summary><ol>
<li>Tap <b>Certificate</b> to download <code>lanrtc-ca.crt</code>.</li>
<li>Open <b>Settings → Security → Encryption &amp; credentials → Install a certificate → CA certificate</b>
(the exact names vary by phone; search settings for “CA certificate”), confirm, and pick the downloaded file.</li>
</ol></details>

<details><summary>Mac</summary><ol>
<li>Download the <b>Certificate</b> and double-click it; Keychain Access adds it to a keychain.</li>
<li>Find <b>lanrtc local authority</b>, open it, expand <b>Trust</b> and set <b>When using this certificate</b> to <b>Always Trust</b>.</li>
</ol></details>

<details><summary>Windows</summary><ol>
<li>Download the <b>Certificate</b> and open it, then choose <b>Install Certificate…</b>.</li>
<li>Pick <b>Current User</b>, then <b>Place all certificates in the following store → Trusted Root Certification Authorities</b>, and finish.</li>
</ol></details>

<details><summary>Linux</summary><ol>
<li>Chrome and Chromium: <b>Settings → Privacy and security → Security → Manage certificates → Authorities → Import</b>, pick the file and tick “Trust this certificate for identifying websites”.</li>
<li>Firefox: <b>Settings → Privacy &amp; Security → Certificates → View Certificates → Authorities → Import</b>.</li>
<li>Whole system (curl and friends): copy it to <code>/usr/local/share/ca-certificates/lanrtc.crt</code> and run <code>sudo update-ca-certificates</code>.</li>
</ol></details>

<p>Then open the app: <a href="/">the video-call page</a>. If the browser still warns, reload it or restart the browser.</p>
</body>
</html>
"#;
