//! The HTTP service behind the one port (the router): routing, static
//! files, and the headers every response carries. The response helpers the
//! routes share live below it, in [`crate::respond`]. Over TLS it serves the app and `/rtc`; over
//! plain HTTP the trust helpers and the landing that checks trust, redirecting
//! everything else to https.

use std::convert::Infallible;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use crate::access;
use crate::app::App;
use crate::assets::{Asset, PathError};
use crate::respond::{response, text_response, Body};
use crate::rtc::{self, room};
use crate::{qr, trust, whip};

/// Handles one request. `secure` says whether it arrived over TLS.
pub async fn handle(
    req: Request<Incoming>,
    app: Arc<App>,
    secure: bool,
    remote: std::net::IpAddr,
) -> Result<Response<Body>, Infallible> {
    let authority = request_authority(req.headers());
    // For supervisors and scrapers, over https or plain http alike.
    let health = matches!(*req.method(), Method::GET | Method::HEAD)
        .then(|| crate::metrics::route(req.uri().path(), req.uri(), req.headers(), remote, &app))
        .flatten();
    let mut res = match health {
        Some(res) => res,
        None if secure => route(req, &app, remote).await,
        None => route_plain(req, &app).await,
    };
    security_headers(res.headers_mut(), authority.as_deref());
    Ok(res)
}

async fn route(req: Request<Incoming>, app: &App, remote: std::net::IpAddr) -> Response<Body> {
    // WHIP and WHEP take POST and DELETE, and check the key their own way.
    if whip::handles(req.uri().path()) {
        return whip::handle(req, app).await;
    }
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return method_not_allowed();
    }
    let path = req.uri().path();
    // Open to all, so a phone can trust the authority before it has the link.
    if let Some(res) = trust::route(path, app, visitor(req.headers())) {
        return res;
    }
    // The trust page's own files, so its check works before the key does.
    if PLAIN_FILES.contains(&path) {
        if let Ok(Some(asset)) = app.assets.get(path).await {
            return file_response(&asset, req.headers());
        }
    }
    if let Some(key) = &app.access {
        let socket = path == rtc::PATH || path.starts_with(crate::pipe::PREFIX);
        if let Some(res) = access::check(key, app.port, req.uri(), req.headers(), socket) {
            return res;
        }
    }
    if path == rtc::PATH {
        use crate::per_address::What;
        let Some(place) = app.per_address.admit(remote, What::Peers) else {
            return text_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "This address holds as many signaling connections as one device may (MAX_PEERS_PER_ADDRESS); close some, or try again later.\n",
            );
        };
        return rtc::upgrade(req, &app.hub, &app.limits, place);
    }
    if let Some(token) = path.strip_prefix(crate::pipe::PREFIX) {
        let token = token.to_string();
        return crate::pipe::upgrade(req, app.hub.pipes(), &token);
    }
    if rtc::is_upgrade(req.headers()) {
        return text_response(
            StatusCode::NOT_FOUND,
            "WebSocket connections are only accepted at /rtc (and /pipe/ for transfers the app set up).\n",
        );
    }
    if path == "/qr.svg" {
        return qr::svg(req.uri().query());
    }
    // A room's page is the app itself; the app reads the room from the URL.
    let path = match room::from_page_path(path) {
        Some(Ok(_)) => "/",
        Some(Err(())) => {
            return text_response(
                StatusCode::BAD_REQUEST,
                &format!(
                    "That is not a room's address. {} The lobby is at /.\n",
                    room::ROOM_RULE
                ),
            )
        }
        None => path,
    };
    match app.assets.get(path).await {
        Ok(Some(asset)) => file_response(&asset, req.headers()),
        Ok(None) => text_response(StatusCode::NOT_FOUND, "Not found. The app is at /.\n"),
        Err(PathError::Forbidden) => text_response(
            StatusCode::BAD_REQUEST,
            "That path is not allowed: it leaves the app's folder or names a hidden file.\n",
        ),
    }
}

/// Who asks, for the trust page.
fn visitor(headers: &HeaderMap) -> trust::Visitor<'_> {
    trust::Visitor {
        authority: headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .filter(|h| request_authority(headers).is_some_and(|a| a.eq_ignore_ascii_case(h))),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    }
}

/// The files the plain-HTTP landing needs besides itself (open to all, like
/// the trust helpers: nothing in them is private).
const PLAIN_FILES: [&str; 2] = ["/trust.js", "/favicon.svg"];

/// Plain HTTP on the TLS port: the certificate helpers as they are (a phone
/// must fetch the authority before it can trust https); at `/` and a room's
/// page the landing, which checks that https works here before going on;
/// a redirect otherwise.
async fn route_plain(req: Request<Incoming>, app: &App) -> Response<Body> {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return method_not_allowed();
    }
    let path = req.uri().path();
    if let Some(res) = trust::route(path, app, visitor(req.headers())) {
        return res;
    }
    let page = path == "/" || matches!(room::from_page_path(path), Some(Ok(_)));
    if page && app.authority.is_some() && !rtc::is_upgrade(req.headers()) {
        return trust::landing(app, visitor(req.headers()));
    }
    if PLAIN_FILES.contains(&path) {
        if let Ok(Some(asset)) = app.assets.get(path).await {
            return file_response(&asset, req.headers());
        }
    }
    let authority = request_authority(req.headers())
        .unwrap_or_else(|| format!("{}.local:{}", app.host, app.port));
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let location = format!("https://{authority}{path}");
    let mut res = text_response(
        StatusCode::PERMANENT_REDIRECT,
        &format!("This server speaks HTTPS: {location}\n"),
    );
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

fn file_response(asset: &Asset, request: &HeaderMap) -> Response<Body> {
    let not_modified = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|tag| {
                let tag = tag.trim();
                tag == "*" || tag.trim_start_matches("W/") == asset.etag
            })
        });
    let mut res = if not_modified {
        let mut res = Response::new(Body::default());
        *res.status_mut() = StatusCode::NOT_MODIFIED;
        res
    } else {
        response(StatusCode::OK, asset.content_type, asset.body.clone())
    };
    let h = res.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&asset.etag) {
        h.insert(header::ETAG, etag);
    }
    // Always revalidate: the ETag makes that cheap, and an edited file is
    // never shown stale.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

fn method_not_allowed() -> Response<Body> {
    let mut res = text_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "Only GET and HEAD are supported here.\n",
    );
    res.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    res
}

/// The request's `Host`, if it is a plausible `host[:port]` (it ends up in a
/// redirect and in the CSP, so nothing else is let through).
fn request_authority(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let ok = !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']' | b'_')
        });
    ok.then(|| host.to_ascii_lowercase())
}

/// The headers on every response. A handler that set its own
/// Content-Security-Policy (the trust page) keeps it.
fn security_headers(h: &mut HeaderMap, authority: Option<&str>) {
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        // 'self' covers same-origin wss: in current browsers; naming the
        // socket's origin explicitly keeps older Safari working too.
        let connect = match authority {
            Some(a) => format!("'self' wss://{a}"),
            None => "'self'".to_string(),
        };
        let csp = format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
             media-src 'self' blob: mediastream:; connect-src {connect}; object-src 'none'; \
             base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        );
        if let Ok(v) = HeaderValue::from_str(&csp) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(self), microphone=(self), display-capture=(self)"),
    );
}
