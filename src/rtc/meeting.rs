//! A room's meeting: who is in it, what each member's microphone, camera
//! and screen are doing, whether the media server has their stream yet, and
//! who speaks. Pure state; the hub keeps one per room under its lock and
//! tells the whole room every change, so the peer list can show who is in
//! the meeting before one joins.

use serde_json::{json, Value};
use uuid::Uuid;

/// What a member says about itself (each field optional in `update`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberFlags {
    pub muted: Option<bool>,
    pub camera: Option<bool>,
    pub screen: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: Uuid,
    pub muted: bool,
    /// Sending its camera (false: a placeholder with the name).
    pub camera: bool,
    /// Sharing its screen instead of the camera.
    pub screen: bool,
    /// The media server holds its stream, so the others can subscribe.
    pub publishing: bool,
}

impl Member {
    fn apply(&mut self, flags: MemberFlags) -> bool {
        let before = self.clone();
        self.muted = flags.muted.unwrap_or(self.muted);
        self.camera = flags.camera.unwrap_or(self.camera);
        self.screen = flags.screen.unwrap_or(self.screen);
        *self != before
    }
}

#[derive(Debug, Default)]
pub struct Meeting {
    /// In the order they joined.
    members: Vec<Member>,
    speaker: Option<Uuid>,
}

/// Joining a meeting that has `max` members already.
#[derive(Debug, PartialEq, Eq)]
pub struct Full {
    pub max: usize,
}

impl Meeting {
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn member(&self, id: Uuid) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    /// Adds `id` (a member already in is updated instead). Returns whether
    /// anything changed.
    pub fn join(&mut self, id: Uuid, flags: MemberFlags, max: usize) -> Result<bool, Full> {
        if let Some(m) = self.members.iter_mut().find(|m| m.id == id) {
            return Ok(m.apply(flags));
        }
        if self.members.len() >= max {
            return Err(Full { max });
        }
        let mut member = Member {
            id,
            muted: false,
            camera: true,
            screen: false,
            publishing: false,
        };
        member.apply(flags);
        self.members.push(member);
        Ok(true)
    }

    /// Removes `id`; false when it was not a member.
    pub fn leave(&mut self, id: Uuid) -> bool {
        let before = self.members.len();
        self.members.retain(|m| m.id != id);
        if self.speaker == Some(id) {
            self.speaker = None;
        }
        self.members.len() != before
    }

    /// A member's own flags; false when nothing changed or it is no member.
    pub fn update(&mut self, id: Uuid, flags: MemberFlags) -> bool {
        self.members
            .iter_mut()
            .find(|m| m.id == id)
            .is_some_and(|m| m.apply(flags))
    }

    pub fn set_publishing(&mut self, id: Uuid, publishing: bool) -> bool {
        match self.members.iter_mut().find(|m| m.id == id) {
            Some(m) if m.publishing != publishing => {
                m.publishing = publishing;
                true
            }
            _ => false,
        }
    }

    /// The media server's verdict on who speaks; only a member can be it.
    pub fn set_speaker(&mut self, speaker: Option<Uuid>) -> bool {
        let speaker = speaker.filter(|id| self.member(*id).is_some());
        let changed = self.speaker != speaker;
        self.speaker = speaker;
        changed
    }

    /// The `meeting` message the room is sent.
    pub fn to_message(&self, max: usize) -> String {
        let members: Vec<Value> = self
            .members
            .iter()
            .map(|m| {
                json!({
                    "id": m.id.hyphenated().to_string(),
                    "muted": m.muted,
                    "camera": m.camera,
                    "screen": m.screen,
                    "publishing": m.publishing,
                })
            })
            .collect();
        let speaker = self.speaker.map(|s| s.hyphenated().to_string());
        json!({
            "type": "meeting",
            "data": { "members": members, "speaker": speaker, "max": max }
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(muted: Option<bool>, camera: Option<bool>) -> MemberFlags {
        MemberFlags {
            muted,
            camera,
            screen: None,
        }
    }

    #[test]
    fn members_join_up_to_the_limit_and_leave() {
        let mut m = Meeting::default();
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        assert_eq!(m.join(ids[0], MemberFlags::default(), 2), Ok(true));
        assert_eq!(m.join(ids[1], flags(Some(true), None), 2), Ok(true));
        assert_eq!(
            m.join(ids[2], MemberFlags::default(), 2),
            Err(Full { max: 2 })
        );
        // Joining again is not a second seat.
        assert_eq!(m.join(ids[1], flags(Some(true), None), 2), Ok(false));
        assert_eq!(m.len(), 2);
        assert!(m.member(ids[1]).unwrap().muted);
        assert!(m.leave(ids[0]));
        assert!(!m.leave(ids[0]), "not a member any more");
        assert_eq!(m.join(ids[2], MemberFlags::default(), 2), Ok(true));
    }

    #[test]
    fn the_message_says_who_is_in_and_who_speaks() {
        let mut m = Meeting::default();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        m.join(a, MemberFlags::default(), 16).unwrap();
        m.join(b, flags(None, Some(false)), 16).unwrap();
        assert!(m.set_publishing(a, true));
        assert!(!m.set_publishing(a, true), "no change, nothing to tell");
        assert!(m.update(b, flags(Some(true), None)));
        assert!(!m.update(Uuid::new_v4(), flags(Some(true), None)));
        assert!(m.set_speaker(Some(a)));
        m.set_speaker(Some(b));
        let v: Value = serde_json::from_str(&m.to_message(16)).unwrap();
        assert_eq!(v["type"], "meeting");
        assert_eq!(v["data"]["max"], 16);
        assert_eq!(v["data"]["speaker"], b.hyphenated().to_string());
        let members = v["data"]["members"].as_array().unwrap();
        assert_eq!(members.len(), 2);
        assert_eq!(members[0]["publishing"], true);
        assert_eq!(members[1]["camera"], false);
        assert_eq!(members[1]["muted"], true);
        // The speaker leaving clears the highlight.
        m.leave(b);
        let v: Value = serde_json::from_str(&m.to_message(16)).unwrap();
        assert_eq!(v["data"]["speaker"], Value::Null);
    }

    #[test]
    fn only_a_member_can_be_the_speaker() {
        let mut m = Meeting::default();
        let a = Uuid::new_v4();
        m.join(a, MemberFlags::default(), 16).unwrap();
        assert!(
            !m.set_speaker(Some(Uuid::new_v4())),
            "a stranger is no speaker"
        );
        assert_eq!(m.speaker, None);
    }
}
