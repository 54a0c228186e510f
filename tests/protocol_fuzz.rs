//! Random JSON and random bytes at the protocol parser: it must never panic,
//! must classify every input, and whatever it accepts for relaying must come
//! out stamped with the sender's id.

mod common;

use lanrtc::rtc::protocol::{self, ErrorCode, Inbound};
use proptest::prelude::*;
use serde_json::{json, Value};

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        prop_oneof![
            Just("identify"),
            Just("offer"),
            Just("accept"),
            Just("reject"),
            Just("icecandidate"),
            Just("hangup"),
            Just("ready"),
            Just("peer"),
            Just("meeting"),
            Just("subscribe"),
            Just("join"),
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("type".to_string()),
                    Just("data".to_string()),
                    Just("target".to_string()),
                    Just("sdp".to_string()),
                    Just("candidate".to_string()),
                    Just("id".to_string()),
                    Just("name".to_string()),
                    Just("reason".to_string()),
                    Just("source".to_string()),
                    Just("action".to_string()),
                    Just("muted".to_string()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..6,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn check(text: &str) {
    match protocol::parse(text) {
        Ok(Inbound::Identify { name, .. }) => {
            assert!(!name.is_empty() && name.chars().count() <= protocol::MAX_NAME_CHARS);
            assert!(!name.chars().any(char::is_control));
        }
        Ok(Inbound::Publish { .. })
        | Ok(Inbound::Unpublish)
        | Ok(Inbound::Ping)
        | Ok(Inbound::Meeting(_))
        | Ok(Inbound::CallRelay { .. }) => {}
        Ok(Inbound::Subscribe { target, .. }) | Ok(Inbound::Unsubscribe { target }) => {
            assert!(target.len() <= text.len())
        }
        Ok(Inbound::Pipe { transfer, .. }) => assert!(protocol::is_transfer_id(&transfer)),
        Ok(Inbound::Relay { kind, message, .. }) => {
            let out: Value =
                serde_json::from_str(&protocol::stamp_relay(kind, message, "me")).unwrap();
            assert_eq!(out["data"]["source"], "me");
        }
        Err(e) => {
            let frame: Value = serde_json::from_str(&e.to_json()).unwrap();
            assert_eq!(frame["type"], "error");
            assert!(e.code != ErrorCode::RateLimited && e.code != ErrorCode::UnknownTarget);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_json_never_panics(v in any_json()) {
        check(&v.to_string());
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn messages_with_random_data_never_panic(
        kind in prop_oneof![Just("identify"), Just("offer"), Just("accept"), Just("reject"), Just("icecandidate"), Just("hangup")],
        data in any_json(),
    ) {
        check(&json!({"type": kind, "data": data}).to_string());
    }
}

#[tokio::test]
async fn garbage_on_the_wire_hurts_no_one() {
    let server = common::TestServer::start_with(|c| c.limits.rate_limit = 0).await;
    let mut victim = server.peer("Victim", 0).await;
    let mut noisy = server.peer("Noisy", 1).await;
    victim.recv().await;
    let mut rng_state = 0x2545_f491_4f6c_dd1d_u64;
    for i in 0..300 {
        // xorshift: cheap, deterministic noise.
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        let len = (rng_state % 200) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|j| (rng_state.rotate_left(j as u32) & 0xff) as u8)
            .collect();
        let text = match i % 3 {
            0 => String::from_utf8_lossy(&bytes).into_owned(),
            1 => format!("{{\"type\":\"offer\",\"data\":{}}}", String::from_utf8_lossy(&bytes)),
            _ => json!({"type":"icecandidate","data":{"target":"x","candidate":String::from_utf8_lossy(&bytes)}}).to_string(),
        };
        noisy.send_text(text).await;
        let reply = noisy.recv().await;
        assert_eq!(reply["type"], "error", "{reply}");
    }
    victim.quiet(std::time::Duration::from_millis(200)).await;
    noisy
        .send(json!({"type":"offer","data":{"target":victim.id,"sdp":"v=0"}}))
        .await;
    assert_eq!(victim.recv().await["data"]["sdp"], "v=0");
}
