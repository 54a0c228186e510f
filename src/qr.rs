//! `/qr.svg?data=…`: a QR code as SVG, so the page can show its own URL for
//! another device to scan without shipping a QR library to the browser.

use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

use crate::respond::{response, text_response, Body};

/// A URL longer than this is not something a person points a phone at.
const MAX_DATA_BYTES: usize = 1024;

/// Answers `/qr.svg` for the given query string.
pub fn svg(query: Option<&str>) -> Response<Body> {
    let data = query
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("data="))
        .map(|raw| {
            percent_encoding::percent_decode_str(&raw.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        });
    let Some(data) = data.filter(|d| !d.is_empty()) else {
        return text_response(
            StatusCode::BAD_REQUEST,
            "Give the text to encode as ?data=… (URL-encoded).\n",
        );
    };
    if data.len() > MAX_DATA_BYTES {
        return text_response(
            StatusCode::BAD_REQUEST,
            "The text to encode is too long (1024 bytes at most).\n",
        );
    }
    let Ok(code) = qrcode::QrCode::new(data.as_bytes()) else {
        return text_response(
            StatusCode::BAD_REQUEST,
            "That text cannot be put in a QR code.\n",
        );
    };
    let image = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    let mut res = response(StatusCode::OK, "image/svg+xml", image);
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=3600"),
    );
    res
}
