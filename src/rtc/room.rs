//! Rooms: a room is a name shared by the peers that may see and reach each
//! other. It comes from the page URL (`/r/<room>`) and the socket URL
//! (`/rtc?room=<room>`); no room is the lobby.

use std::fmt;
use std::sync::Arc;

/// Longest room name, in characters.
pub const MAX_ROOM_CHARS: usize = 64;

/// What a person sees when a room name is refused.
pub const ROOM_RULE: &str = "A room name is 1 to 64 characters: letters, digits, '-' and '_' only.";

/// A valid room name, or the lobby (the empty name). Cloning is a
/// reference-count increment.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Room(Arc<str>);

impl Room {
    pub fn lobby() -> Room {
        Room(Arc::from(""))
    }

    /// A room from its name; `None` unless the name follows [`ROOM_RULE`].
    pub fn named(name: &str) -> Option<Room> {
        valid_name(name).then(|| Room(Arc::from(name)))
    }

    pub fn is_lobby(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Room {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_lobby() {
            f.write_str("lobby")
        } else {
            write!(f, "room {}", self.0)
        }
    }
}

/// Whether `name` is 1–64 ASCII letters, digits, `-` or `_`.
pub fn valid_name(name: &str) -> bool {
    (1..=MAX_ROOM_CHARS).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The room of a page path: `Some(Ok(room))` for `/r/<room>` (with or
/// without a trailing slash), `Some(Err(()))` for a `/r/…` path with a bad
/// name, `None` for any path outside `/r/`.
pub fn from_page_path(path: &str) -> Option<Result<Room, ()>> {
    let rest = path.strip_prefix("/r/")?;
    let name = rest.strip_suffix('/').unwrap_or(rest);
    Some(Room::named(name).ok_or(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let long = "a".repeat(64);
        let too_long = "a".repeat(65);
        for (name, ok) in [
            ("a", true),
            ("Math-101_b", true),
            (long.as_str(), true),
            ("", false),
            (too_long.as_str(), false),
            ("a b", false),
            ("a/b", false),
            ("..", false),
            ("é", false),
            ("a%20", false),
            ("a\0", false),
        ] {
            assert_eq!(valid_name(name), ok, "{name:?}");
        }
    }

    #[test]
    fn page_paths() {
        assert_eq!(
            from_page_path("/r/abc"),
            Some(Ok(Room::named("abc").unwrap()))
        );
        assert_eq!(
            from_page_path("/r/abc/"),
            Some(Ok(Room::named("abc").unwrap()))
        );
        assert_eq!(from_page_path("/r/"), Some(Err(())));
        assert_eq!(from_page_path("/r/a/b"), Some(Err(())));
        assert_eq!(from_page_path("/r/..%2f"), Some(Err(())));
        assert_eq!(from_page_path("/"), None);
        assert_eq!(from_page_path("/rooms"), None);
    }
}
