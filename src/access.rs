//! The access key (`ACCESS_KEY`): when set, only people given a link that
//! carries it (`?key=…`) get in. Opening such a link stores the key in a
//! cookie and redirects to the clean URL; without a valid key, pages get a
//! 401 page that says how to get in and `/rtc` upgrades get 401. The trust
//! helpers stay open (see [`crate::http`]), so a phone can install the
//! authority before it has the link.

use std::fmt;

use anyhow::{bail, Result};
use base64::Engine;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode, Uri};
use ring::digest::{digest, SHA256};
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;

use crate::respond::{page_response, query_param, text_response, Body};

/// The query parameter that carries the key.
pub const PARAM: &str = "key";
/// How long a device stays let in after opening a link with the key.
const COOKIE_MAX_AGE_SECS: u32 = 30 * 24 * 60 * 60;
/// Shortest key accepted from the user: shorter ones are guessable.
const MIN_CHARS: usize = 8;
const MAX_CHARS: usize = 128;

/// The key the server requires. It has no `PartialEq` on purpose: the only
/// way to compare is [`AccessKey::matches`], which takes the same time
/// whatever the candidate.
#[derive(Clone)]
pub struct AccessKey {
    key: String,
    digest: [u8; 32],
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessKey(…)")
    }
}

impl AccessKey {
    /// The `ACCESS_KEY` setting: empty means none (the server is open),
    /// `auto` a fresh random key, anything else the key itself.
    pub fn parse(value: &str) -> Result<Option<AccessKey>> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(None);
        }
        if value.eq_ignore_ascii_case("auto") {
            return Ok(Some(AccessKey::generate()?));
        }
        let chars = value.chars().count();
        if !(MIN_CHARS..=MAX_CHARS).contains(&chars) {
            bail!("ACCESS_KEY is {chars} characters long; use 8 to 128 characters, or ACCESS_KEY=auto for a random key");
        }
        if !value.bytes().all(url_safe) {
            bail!("ACCESS_KEY may contain only letters, digits, '-', '_', '.' and '~' (it is put in links); or use ACCESS_KEY=auto for a random key");
        }
        Ok(Some(AccessKey::new(value.to_string())))
    }

    /// A random key of 128 bits, written as 22 URL-safe characters.
    pub fn generate() -> Result<AccessKey> {
        let mut bytes = [0u8; 16];
        SystemRandom::new().fill(&mut bytes).map_err(|_| {
            anyhow::anyhow!(
                "the system's random number generator failed; cannot make ACCESS_KEY=auto"
            )
        })?;
        Ok(AccessKey::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        ))
    }

    fn new(key: String) -> AccessKey {
        let digest = sha256(&key);
        AccessKey { key, digest }
    }

    pub fn as_str(&self) -> &str {
        &self.key
    }

    /// Whether `candidate` is the key, in time that depends on neither the
    /// candidate's content nor its length: both sides are hashed to 32 bytes
    /// and the hashes compared without an early exit.
    pub fn matches(&self, candidate: &str) -> bool {
        self.digest.ct_eq(&sha256(candidate)).into()
    }

    /// `url` with the key added as a query parameter.
    pub fn link(&self, url: &str) -> String {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}{PARAM}={}", self.key)
    }
}

fn sha256(text: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, text.as_bytes()).as_ref());
    out
}

fn url_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

/// The cookie's name includes the port: browsers share cookies across ports,
/// and two servers on one machine must not overwrite each other's key.
pub fn cookie_name(port: u16) -> String {
    format!("lanrtc_key_{port}")
}

/// Decides whether a request over TLS may go on. `None` lets it through;
/// otherwise the answer to send instead: the cookie and a redirect to the
/// clean URL for a page link with the right key, a 401 without one.
/// `socket` says the request is a `/rtc` upgrade, which cannot follow a
/// redirect and gets plain-text errors.
pub fn check(
    key: &AccessKey,
    port: u16,
    uri: &Uri,
    headers: &HeaderMap,
    socket: bool,
) -> Option<Response<Body>> {
    if let Some(given) = query_param(uri.query(), PARAM) {
        let right = key.matches(&given);
        return match (right, socket) {
            (true, true) => None,
            (true, false) => Some(let_in(key, port, uri, headers)),
            (false, true) => Some(text_response(
                StatusCode::UNAUTHORIZED,
                "The access key in this URL is not this server's key.\n",
            )),
            (false, false) => Some(refused(true)),
        };
    }
    let name = cookie_name(port);
    let has_cookie = cookies(headers, &name).any(|value| key.matches(value));
    match (has_cookie, socket) {
        (true, _) => None,
        (false, true) => Some(text_response(
            StatusCode::UNAUTHORIZED,
            "This server needs its access key: open the link with the key first (it sets a cookie), or add ?key=… to this URL.\n",
        )),
        (false, false) => Some(refused(false)),
    }
}

/// The values of the cookies called `name`.
fn cookies<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(move |pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.trim().trim_matches('"'))
        })
}

/// Stores the key in a cookie and sends the browser to the same URL without
/// it, so the key does not stay in the address bar, history or a screenshot.
fn let_in(key: &AccessKey, port: u16, uri: &Uri, headers: &HeaderMap) -> Response<Body> {
    let target = clean_url(uri);
    // A link opened from another site (a chat in a web mail, say) makes the
    // whole redirect chain cross-site, and a SameSite=Strict cookie is then
    // left off the redirected request. A page of our own that moves on by
    // itself starts a same-site navigation, which carries it.
    let cross_site = headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    let mut res = if cross_site {
        let html = CONTINUE_PAGE.replace("{target}", &html_attr(&target));
        page_response(StatusCode::OK, html)
    } else {
        let mut res = text_response(StatusCode::SEE_OTHER, &format!("Continue at {target}\n"));
        if let Ok(v) = HeaderValue::from_str(&target) {
            res.headers_mut().insert(header::LOCATION, v);
        }
        res
    };
    let cookie = format!(
        "{}={}; Path=/; Max-Age={COOKIE_MAX_AGE_SECS}; HttpOnly; Secure; SameSite=Strict",
        cookie_name(port),
        key.as_str()
    );
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        h.insert(header::SET_COOKIE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The request's path and query without the key. A path that starts with
/// `//` would be read as another host, so it becomes `/`.
fn clean_url(uri: &Uri) -> String {
    let path = uri.path();
    let path = if path.starts_with("//") || !path.starts_with('/') {
        "/"
    } else {
        path
    };
    let rest: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| {
            let name = pair.split_once('=').map_or(*pair, |(k, _)| k);
            !pair.is_empty() && name != PARAM
        })
        .collect();
    if rest.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", rest.join("&"))
    }
}

/// Our URLs are ASCII with no quotes, but escape anyway.
fn html_attr(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}

fn refused(wrong_key: bool) -> Response<Body> {
    let reason = if wrong_key {
        "The key in the link you opened is not this server's key. It may be an old link: a key made with ACCESS_KEY=auto changes each time the server restarts."
    } else {
        "This lanrtc server only lets in people who were given its link, and this browser has not opened it yet (or not in the last 30 days)."
    };
    let mut res = page_response(
        StatusCode::UNAUTHORIZED,
        REFUSED_PAGE.replace("{reason}", reason),
    );
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Key realm=\"lanrtc\", param=\"key\""),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

const REFUSED_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Ask for the link · lanrtc</title>
<style>
body { font: 17px/1.5 system-ui, sans-serif; max-width: 34rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.5rem; }
li { margin: .4rem 0; }
</style>
</head>
<body>
<h1>Ask for the link to join</h1>
<p>{reason}</p>
<ul>
<li>Ask the person running lanrtc to show you the QR code it printed (or the one in the app) and scan it, or to send you the link.</li>
<li>Open that link in this browser. It lets this device in; you will not need it again for 30 days.</li>
</ul>
<p>Certificate warnings? <a href="/trust">Trust this server first</a>.</p>
</body>
</html>
"#;

const CONTINUE_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="0; url={target}">
<title>lanrtc</title>
</head>
<body>
<p><a href="{target}">Continue to lanrtc</a></p>
</body>
</html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    // The key can only be compared through `matches`, which is constant
    // time; a derived `==` (which stops at the first differing byte) must
    // never be added.
    static_assertions::assert_not_impl_any!(AccessKey: PartialEq, Eq, PartialOrd);

    #[test]
    fn matching() {
        let key = AccessKey::parse("correct-horse").unwrap().unwrap();
        assert!(key.matches("correct-horse"));
        for wrong in ["", "correct-hors", "correct-horse ", "Correct-horse", "x"] {
            assert!(!key.matches(wrong), "{wrong:?}");
        }
        assert!(!format!("{key:?}").contains("horse"));
    }

    #[test]
    fn settings() {
        assert!(AccessKey::parse("").unwrap().is_none());
        let a = AccessKey::parse("auto").unwrap().unwrap();
        let b = AccessKey::parse("auto").unwrap().unwrap();
        assert_eq!(a.as_str().len(), 22);
        assert!(a.as_str().bytes().all(url_safe));
        assert!(!a.matches(b.as_str()), "two auto keys must differ");
        for bad in ["short", "has space in it", "ünïcödé-key", &"k".repeat(129)] {
            let err = AccessKey::parse(bad).unwrap_err().to_string();
            assert!(err.starts_with("ACCESS_KEY"), "{err}");
        }
    }

    #[test]
    fn clean_urls() {
        for (uri, want) in [
            ("/?key=abc", "/"),
            ("/r/room?key=abc", "/r/room"),
            ("/r/room?a=1&key=abc&b=2", "/r/room?a=1&b=2"),
            ("//evil.example/?key=abc", "/"),
        ] {
            assert_eq!(clean_url(&uri.parse().unwrap()), want, "{uri}");
        }
    }

    #[test]
    fn links() {
        let key = AccessKey::parse("abcdefgh").unwrap().unwrap();
        assert_eq!(key.link("https://h:1/"), "https://h:1/?key=abcdefgh");
        assert_eq!(key.link("https://h:1/?a"), "https://h:1/?a&key=abcdefgh");
    }
}
