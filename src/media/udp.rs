//! The media server's UDP sockets and the routing of each datagram to the
//! session it belongs to.
//!
//! One port number, one socket per local address: a socket bound to the
//! wildcard (`BIND=0.0.0.0`) cannot tell which of the machine's addresses a
//! datagram was sent to, and ICE needs to know (each address is a candidate
//! in the answer, and replies must leave from the address that was used).
//! Binding each address separately gives that for free.
//!
//! Routing: a datagram from a known source address goes to the session ICE
//! bound that address to (a hash lookup). From an unknown address only a
//! STUN request is considered: its USERNAME begins with the ICE username
//! fragment of one of our answers, which names the session; the session then
//! checks the request's integrity itself. Anything else is dropped and
//! counted, never logged one by one.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::task::{Context, Poll};

use tokio::io::ReadBuf;
use tokio::net::UdpSocket;
use uuid::Uuid;

/// A datagram larger than this is not WebRTC on a LAN (the MTU is 1500);
/// the receive buffer is one such size, reused for every read.
pub const MAX_DATAGRAM: usize = 2048;

/// Kernel send buffer per media socket. One video frame to 200 viewers is
/// ~1,200 datagrams queued at once, ~1.5 MB; the kernel's default (~200 KB)
/// would refuse most of them. Linux caps this at `net.core.wmem_max`. The
/// receive buffer stays at the default on purpose: inbound is one publisher
/// and some feedback, and a deep inbound queue would turn an overloaded
/// loop into seconds of delay instead of a few lost packets.
const SEND_BUFFER: usize = 4 * 1024 * 1024;

/// Sockets bound by the caller (so a bind error is reported at start), to be
/// moved onto the media thread.
pub struct Bound {
    sockets: Vec<std::net::UdpSocket>,
}

impl Bound {
    /// Binds `port` on each address; 0 picks one free port for all of them.
    pub fn bind(addresses: &[IpAddr], port: u16) -> io::Result<Bound> {
        let mut sockets = Vec::new();
        let mut port = port;
        for ip in addresses {
            let socket = std::net::UdpSocket::bind(SocketAddr::new(*ip, port))?;
            socket.set_nonblocking(true)?;
            // Best effort: a smaller buffer still works, it only drops more
            // under a burst (and the drops are counted).
            let _ = socket2::SockRef::from(&socket).set_send_buffer_size(SEND_BUFFER);
            port = socket.local_addr()?.port();
            sockets.push(socket);
        }
        Ok(Bound { sockets })
    }

    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.sockets
            .iter()
            .filter_map(|s| s.local_addr().ok())
            .collect()
    }

    /// Must be called inside the runtime that will poll the sockets.
    pub fn into_sockets(self) -> io::Result<Sockets> {
        let mut list = Vec::new();
        for socket in self.sockets {
            let addr = socket.local_addr()?;
            list.push((UdpSocket::from_std(socket)?, addr));
        }
        Ok(Sockets { list })
    }
}

/// The sockets, all on one port, owned by the media loop.
pub struct Sockets {
    list: Vec<(UdpSocket, SocketAddr)>,
}

/// What `send` did with a datagram.
pub enum Sent {
    Ok,
    /// The kernel's buffer was full (or no socket has that source address).
    Dropped,
}

impl Sockets {
    /// Waits until some socket has a datagram, reads it into `buf`, and
    /// returns its length, source and the local address it arrived on.
    pub fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr, SocketAddr)>> {
        for (socket, local) in &self.list {
            let mut rb = ReadBuf::new(buf);
            match socket.poll_recv_from(cx, &mut rb) {
                Poll::Ready(Ok(from)) => return Poll::Ready(Ok((rb.filled().len(), from, *local))),
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => {}
            }
        }
        Poll::Pending
    }

    /// Reads one more datagram if one is waiting, without waiting.
    pub fn try_recv(&self, buf: &mut [u8]) -> Option<(usize, SocketAddr, SocketAddr)> {
        for (socket, local) in &self.list {
            match socket.try_recv_from(buf) {
                Ok((n, from)) => return Some((n, from, *local)),
                Err(_) => continue,
            }
        }
        None
    }

    /// Sends without waiting: a full socket buffer drops the datagram (RTP
    /// tolerates loss, and NACKs recover what matters); waiting would stall
    /// every other session.
    pub fn send(&self, from: SocketAddr, to: SocketAddr, data: &[u8]) -> Sent {
        let socket = match self.list.as_slice() {
            [(only, _)] => only,
            list => match list.iter().find(|(_, local)| *local == from) {
                Some((s, _)) => s,
                None => return Sent::Dropped,
            },
        };
        match socket.try_send_to(data, to) {
            Ok(_) => Sent::Ok,
            Err(_) => Sent::Dropped,
        }
    }
}

/// Which session a datagram belongs to.
#[derive(Default)]
pub struct Routes {
    by_addr: HashMap<SocketAddr, Uuid>,
    by_ufrag: HashMap<String, Uuid>,
}

impl Routes {
    pub fn add_session(&mut self, ufrag: String, session: Uuid) {
        self.by_ufrag.insert(ufrag, session);
    }

    /// Forgets a session and every address bound to it.
    pub fn remove_session(&mut self, session: Uuid) {
        self.by_ufrag.retain(|_, s| *s != session);
        self.by_addr.retain(|_, s| *s != session);
    }

    /// Binds a source address to a session (once the session has accepted a
    /// datagram from it).
    pub fn bind(&mut self, addr: SocketAddr, session: Uuid) {
        self.by_addr.insert(addr, session);
    }

    /// The session a datagram from `source` is for, and whether the address
    /// still needs binding.
    pub fn lookup(&self, source: SocketAddr, datagram: &[u8]) -> Option<(Uuid, bool)> {
        if let Some(s) = self.by_addr.get(&source) {
            return Some((*s, false));
        }
        let ufrag = stun_local_ufrag(datagram)?;
        self.by_ufrag.get(ufrag).map(|s| (*s, true))
    }

    pub fn sessions(&self) -> usize {
        self.by_ufrag.len()
    }
}

/// STUN's magic cookie (RFC 8489), at bytes 4..8 of every message.
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
/// The USERNAME attribute.
const ATTR_USERNAME: u16 = 0x0006;

/// For a STUN message, the part of its USERNAME before the colon: the
/// receiver's (our) ICE username fragment. `None` for anything else.
pub fn stun_local_ufrag(datagram: &[u8]) -> Option<&str> {
    // RFC 7983: STUN starts with 0-3 in the first byte; then the header.
    if datagram.len() < 20 || datagram[0] > 3 || datagram[4..8] != MAGIC_COOKIE {
        return None;
    }
    let length = u16::from_be_bytes([datagram[2], datagram[3]]) as usize;
    let body = datagram.get(20..20 + length)?;
    let mut at = 0;
    while at + 4 <= body.len() {
        let kind = u16::from_be_bytes([body[at], body[at + 1]]);
        let len = u16::from_be_bytes([body[at + 2], body[at + 3]]) as usize;
        let value = body.get(at + 4..at + 4 + len)?;
        if kind == ATTR_USERNAME {
            let username = std::str::from_utf8(value).ok()?;
            return username.split(':').next();
        }
        // Attributes are padded to four bytes.
        at += 4 + len.div_ceil(4) * 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stun(attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (kind, value) in attrs {
            body.extend_from_slice(&kind.to_be_bytes());
            body.extend_from_slice(&(value.len() as u16).to_be_bytes());
            body.extend_from_slice(value);
            while body.len() % 4 != 0 {
                body.push(0);
            }
        }
        let mut msg = vec![0x00, 0x01];
        msg.extend_from_slice(&(body.len() as u16).to_be_bytes());
        msg.extend_from_slice(&MAGIC_COOKIE);
        msg.extend_from_slice(&[7; 12]);
        msg.extend_from_slice(&body);
        msg
    }

    #[test]
    fn username_fragment_of_stun_requests() {
        let msg = stun(&[(0x0024, &[0, 0, 0, 1]), (ATTR_USERNAME, b"srv1:cli")]);
        assert_eq!(stun_local_ufrag(&msg), Some("srv1"));
        // Odd length: padding must be skipped to find later attributes.
        let msg = stun(&[(0x8022, b"odd"), (ATTR_USERNAME, b"abc:d")]);
        assert_eq!(stun_local_ufrag(&msg), Some("abc"));
    }

    #[test]
    fn hostile_datagrams_are_not_stun() {
        let good = stun(&[(ATTR_USERNAME, b"a:b")]);
        let mut lying_length = good.clone();
        lying_length[3] = 200;
        let mut bad_attr_len = good.clone();
        bad_attr_len[23] = 90;
        let mut rtp = good.clone();
        rtp[0] = 0x80;
        for bad in [
            &[][..],
            &[0u8; 19][..],
            &lying_length[..],
            &bad_attr_len[..],
            &rtp[..],
            &stun(&[(0x0024, &[1, 2, 3, 4])])[..],
            &stun(&[(ATTR_USERNAME, &[0xff, 0xfe])])[..],
        ] {
            assert_eq!(stun_local_ufrag(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn routes_follow_bindings() {
        let mut routes = Routes::default();
        let s = Uuid::new_v4();
        routes.add_session("frag".into(), s);
        let from: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let req = stun(&[(ATTR_USERNAME, b"frag:x")]);
        assert_eq!(routes.lookup(from, &req), Some((s, true)));
        assert_eq!(routes.lookup(from, b"\x80rtp"), None);
        routes.bind(from, s);
        assert_eq!(routes.lookup(from, b"\x80rtp"), Some((s, false)));
        routes.remove_session(s);
        assert_eq!(routes.lookup(from, &req), None);
    }
}
