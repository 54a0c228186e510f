//! The small pieces every route builds responses from. A leaf: it imports
//! nothing of this crate, so the router ([`crate::http`]) and the modules it
//! routes to all depend on it, and never on each other in a circle.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

/// Every response body is a complete buffer: the app's files are small.
pub type Body = Full<Bytes>;

/// A response with a body of the given type.
pub fn response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut res = Response::new(Body::new(body.into()));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

/// A self-contained HTML page: its style is inline and nothing else may
/// load, so it renders even before the device trusts the server.
pub fn page_response(status: StatusCode, html: String) -> Response<Body> {
    let mut res = response(status, "text/html; charset=utf-8", html);
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    res
}

/// The first value of the query parameter `name`, percent-decoded (bytes
/// that are not UTF-8 become U+FFFD, which no valid value contains); `None`
/// when it is absent.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

/// A plain-text response with a sentence for the person who sees it.
pub fn text_response(status: StatusCode, text: &str) -> Response<Body> {
    response(
        status,
        "text/plain; charset=utf-8",
        Bytes::copy_from_slice(text.as_bytes()),
    )
}
