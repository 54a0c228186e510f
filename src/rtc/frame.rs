//! Server-to-client WebSocket frames, built once.
//!
//! A broadcast (a peer announced to a room of 10,000) used to be handed to
//! tungstenite once per recipient, which framed it and copied it into that
//! socket's write buffer before rustls copied it again into a TLS record. A
//! [`Frame`] is the finished wire form instead — header and payload in one
//! shared buffer — so every recipient's writer hands the same bytes straight
//! to rustls (one copy, into the record it encrypts) and the socket keeps no
//! write buffer of its own between bursts.
//!
//! Frames from a server are never masked (RFC 6455 §5.1), which is what makes
//! one buffer good for every recipient.

use bytes::{BufMut, Bytes, BytesMut};

/// Opcodes of RFC 6455 §5.2, with the FIN bit set: every frame is whole.
const FIN_TEXT: u8 = 0x81;
const FIN_CLOSE: u8 = 0x88;
const FIN_PING: u8 = 0x89;

/// Longest close reason: a control frame's payload is at most 125 bytes, two
/// of which are the code.
const MAX_CLOSE_REASON: usize = 123;

/// A complete frame, ready to be written to any client's socket.
/// Cloning is a reference-count increment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame(Bytes);

impl Frame {
    /// A text message (the caller's string is valid UTF-8 by construction).
    pub fn text(payload: &str) -> Frame {
        Frame::build(FIN_TEXT, payload.as_bytes())
    }

    /// A ping with no payload: the keepalive.
    pub fn ping() -> Frame {
        Frame::build(FIN_PING, &[])
    }

    /// A close frame with a status code and a reason, cut at a character
    /// boundary to the 123 bytes a control frame leaves for it.
    pub fn close(code: u16, reason: &str) -> Frame {
        let mut end = reason.len().min(MAX_CLOSE_REASON);
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        let mut payload = Vec::with_capacity(2 + end);
        payload.extend_from_slice(&code.to_be_bytes());
        payload.extend_from_slice(&reason.as_bytes()[..end]);
        Frame::build(FIN_CLOSE, &payload)
    }

    /// A close frame without a status code (the reply to one without).
    pub fn close_empty() -> Frame {
        Frame::build(FIN_CLOSE, &[])
    }

    /// Bytes that already are one or more whole frames (tungstenite's own
    /// replies to the client's pings and close, see `socket`).
    pub(crate) fn raw(bytes: Bytes) -> Frame {
        Frame(bytes)
    }

    /// Several whole frames in one buffer. A newcomer to a room of 10,000
    /// gets its list of peers this way: one copy of each announcement,
    /// instead of 10,000 references to take now and give back after the
    /// write, each on a cache line that other connections' writers share.
    pub fn concat<'a>(frames: impl IntoIterator<Item = &'a Frame>) -> Frame {
        let frames: Vec<&Frame> = frames.into_iter().collect();
        let mut buf = BytesMut::with_capacity(frames.iter().map(|f| f.len()).sum());
        for frame in frames {
            buf.extend_from_slice(&frame.0);
        }
        Frame(buf.freeze())
    }

    fn build(first: u8, payload: &[u8]) -> Frame {
        let len = payload.len();
        let mut buf = BytesMut::with_capacity(10 + len);
        buf.put_u8(first);
        // RFC 6455 §5.2: 7-bit length, or 126 and a 16-bit one, or 127 and a
        // 64-bit one; the shortest form that fits.
        match len {
            0..=125 => buf.put_u8(len as u8),
            126..=0xFFFF => {
                buf.put_u8(126);
                buf.put_u16(len as u16);
            }
            _ => {
                buf.put_u8(127);
                buf.put_u64(len as u64);
            }
        }
        buf.put_slice(payload);
        Frame(buf.freeze())
    }

    /// The frame as it goes on the wire.
    pub fn wire(&self) -> &Bytes {
        &self.0
    }

    /// Bytes on the wire, for the queue's byte budget.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The texts of the text frames this buffer holds, in order; `None` if
    /// anything in it is not a whole unmasked text frame.
    #[cfg(test)]
    pub fn texts(&self) -> Option<Vec<&str>> {
        let mut rest = &self.0[..];
        let mut out = Vec::new();
        while !rest.is_empty() {
            if rest.len() < 2 || rest[0] != FIN_TEXT {
                return None;
            }
            let (start, len): (usize, usize) = match rest[1] {
                n @ 0..=125 => (2, usize::from(n)),
                126 => (
                    4,
                    usize::from(u16::from_be_bytes([*rest.get(2)?, *rest.get(3)?])),
                ),
                127 => {
                    let n: [u8; 8] = rest.get(2..10)?.try_into().ok()?;
                    (10, usize::try_from(u64::from_be_bytes(n)).ok()?)
                }
                _ => return None, // the mask bit: not a server's frame
            };
            let payload = rest.get(start..start.checked_add(len)?)?;
            out.push(std::str::from_utf8(payload).ok()?);
            rest = &rest[start + len..];
        }
        Some(out)
    }
}

impl From<String> for Frame {
    fn from(text: String) -> Frame {
        Frame::text(&text)
    }
}

impl From<&str> for Frame {
    fn from(text: &str) -> Frame {
        Frame::text(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{self, Read, Write};
    use tokio_tungstenite::tungstenite::protocol::{Role, WebSocket};
    use tokio_tungstenite::tungstenite::Message;

    /// A client's view of a byte stream: what a browser's WebSocket would
    /// make of these bytes (a real implementation, not our own parser).
    fn client_reads(wire: &[u8]) -> Vec<Message> {
        struct Stream(io::Cursor<Vec<u8>>);
        impl Read for Stream {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.0.read(buf)
            }
        }
        impl Write for Stream {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                Ok(buf.len()) // the client's replies go nowhere
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut ws =
            WebSocket::from_raw_socket(Stream(io::Cursor::new(wire.to_vec())), Role::Client, None);
        let mut got = Vec::new();
        loop {
            match ws.read() {
                Ok(m) => got.push(m),
                Err(_) => return got,
            }
        }
    }

    #[test]
    fn a_client_reads_every_length_form() {
        // Each boundary of the three length encodings.
        for len in [0usize, 1, 125, 126, 127, 65_535, 65_536, 200_000] {
            let text = "é".repeat(len / 2) + &"x".repeat(len % 2);
            assert_eq!(text.len(), len);
            let frame = Frame::text(&text);
            let got = client_reads(frame.wire());
            assert_eq!(got, vec![Message::text(text.clone())], "length {len}");
            assert_eq!(frame.texts(), Some(vec![text.as_str()]));
        }
    }

    #[test]
    fn frames_written_back_to_back_are_read_one_by_one() {
        let mut wire = Vec::new();
        for f in [Frame::text("a"), Frame::ping(), Frame::text("b")] {
            wire.extend_from_slice(f.wire());
        }
        let got = client_reads(&wire);
        assert_eq!(
            got,
            vec![
                Message::text("a"),
                Message::Ping(Bytes::new()),
                Message::text("b")
            ]
        );
    }

    #[test]
    fn concatenated_frames_read_as_each_of_them() {
        let big = "z".repeat(70_000);
        let parts = [Frame::text("one"), Frame::text(&big), Frame::text("")];
        let list = Frame::concat(&parts);
        assert_eq!(
            client_reads(list.wire()),
            vec![
                Message::text("one"),
                Message::text(big.clone()),
                Message::text("")
            ]
        );
        assert_eq!(list.texts(), Some(vec!["one", big.as_str(), ""]));
        assert!(Frame::concat([]).is_empty());
        // A list cut short is not mistaken for whole frames.
        let cut = Frame::raw(list.wire().slice(..list.len() - 1));
        assert_eq!(cut.texts(), None);
    }

    #[test]
    fn a_close_frame_carries_its_code_and_a_cut_reason() {
        let got = client_reads(Frame::close(1008, "too many messages").wire());
        let Some(Message::Close(Some(close))) = got.first() else {
            panic!("no close frame in {got:?}");
        };
        assert_eq!(u16::from(close.code), 1008);
        assert_eq!(close.reason.as_str(), "too many messages");

        // A reason too long for a control frame is cut, at a character.
        let long = "ü".repeat(100);
        let frame = Frame::close(1001, &long);
        assert!(frame.len() <= 2 + 125);
        let got = client_reads(frame.wire());
        let Some(Message::Close(Some(close))) = got.first() else {
            panic!("no close frame in {got:?}");
        };
        assert_eq!(close.reason.len(), 122, "61 two-byte characters");
    }
}
