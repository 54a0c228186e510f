//! Rejoining: a page whose signaling dropped comes back on a new connection,
//! with a new id, and proves which id it had before, so the others can take
//! the new id as the same device (a transfer or a call goes on with it) and
//! the old connection, if the server has not noticed it is dead, is closed.
//!
//! The proof is a token the server hands each connection in its `ready`:
//! an HMAC-SHA256, under a key drawn when the server starts, of the room
//! and the id. Nothing is stored per connection, a token is only good in
//! the room it was issued for, and a restart invalidates every token (ids
//! from before it mean nothing any more).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::hmac;
use ring::rand::SystemRandom;
use uuid::Uuid;

use super::room::Room;

/// The server's rejoin key.
pub struct Rejoin(hmac::Key);

impl Default for Rejoin {
    fn default() -> Self {
        Rejoin::new()
    }
}

impl Rejoin {
    pub fn new() -> Rejoin {
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &SystemRandom::new())
            .expect("the system's random number generator works");
        Rejoin(key)
    }

    fn message(room: &Room, id: Uuid) -> Vec<u8> {
        // A room name never holds a NUL, so room and id cannot run together.
        let mut message = room.as_str().as_bytes().to_vec();
        message.push(0);
        message.extend_from_slice(id.as_bytes());
        message
    }

    /// The token for connection `id` of `room` (43 URL-safe characters).
    pub fn token(&self, room: &Room, id: Uuid) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.0, &Self::message(room, id)).as_ref())
    }

    /// Whether `token` was issued by this server, in this run, to
    /// connection `id` of `room`. The comparison takes the same time
    /// whatever the token.
    pub fn verify(&self, room: &Room, id: Uuid, token: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        hmac::verify(&self.0, &Self::message(room, id), &tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_proves_its_id_in_its_room_only() {
        let rejoin = Rejoin::new();
        let lobby = Room::lobby();
        let room = Room::named("kitchen").unwrap();
        let (id, other) = (Uuid::new_v4(), Uuid::new_v4());
        let token = rejoin.token(&lobby, id);
        assert_eq!(token.len(), 43);
        assert!(rejoin.verify(&lobby, id, &token));
        assert!(!rejoin.verify(&lobby, other, &token), "another id");
        assert!(!rejoin.verify(&room, id, &token), "another room");
        assert!(!Rejoin::new().verify(&lobby, id, &token), "another run");
        let mut flipped = token.clone().into_bytes();
        flipped[5] = if flipped[5] == b'A' { b'B' } else { b'A' };
        for bad in [
            String::from_utf8(flipped).unwrap(),
            token[..42].to_string(),
            format!("{token}A"),
            String::new(),
            "not base64!".into(),
            "\u{0}".repeat(43),
        ] {
            assert!(!rejoin.verify(&lobby, id, &bad), "{bad:?}");
        }
    }
}
