//! A 1:1 call between two browsers that both reach the appliance but not
//! each other (client-isolated Wi-Fi: two namespaces joined only through
//! the server's): the direct connection cannot come up, so after a few
//! seconds the call goes through the appliance by itself, video plays both
//! ways, and both call panels say so; when both pages' signaling is reset,
//! they rejoin under new ids and the call goes on through the appliance.

mod common;
mod e2e;
mod netns;

use std::time::Duration;

use e2e::REMOTE_PLAYING;

#[test]
fn isolated_clients_call_through_the_appliance() {
    e2e::run_isolated(
        "the isolated-clients call test",
        "isocall",
        "relay_call_inside_namespaces",
        Duration::from_secs(150),
    );
}

#[test]
#[ignore = "run by isolated_clients_call_through_the_appliance inside its namespaces"]
fn relay_call_inside_namespaces() {
    e2e::run_inner(call_through_the_appliance);
}

async fn call_through_the_appliance() {
    let root = tempfile::tempdir().unwrap();
    let (alice, bob, stop, server) = e2e::isolated_pair(root.path()).await;
    alice.press("Call Bob").await;
    bob.wait_call_state("ringing").await;
    bob.press("Accept").await;
    for b in [&alice, &bob] {
        through_the_appliance(b).await;
    }
    // It is the appliance's stream that plays: the direct connection never
    // came up.
    for b in [&alice, &bob] {
        let direct = b
            .js("return document.body.dataset.callState + ' ' + window.lanrtc.callVia;")
            .await;
        assert_eq!(direct, "in-call appliance", "{}", b.name);
    }

    // Both pages' signaling reset at once (the server's ends killed): they
    // come back under new ids and prove the old ones; each side starts its
    // streams through the appliance again (the old connections' ended with
    // them), and the call goes on with a new picture both ways.
    let mut pictures = Vec::new();
    for b in [&alice, &bob] {
        pictures.push(
            b.js("return document.getElementById('remote-video').srcObject.id;")
                .await,
        );
    }
    let ids = e2e::reset_connections(&[&alice, &bob], "sport").await;
    for ((b, id), picture) in [&alice, &bob].into_iter().zip(&ids).zip(&pictures) {
        e2e::wait_new_id(
            b,
            id,
            &format!("document.getElementById('remote-video').srcObject?.id !== {picture}"),
            "a new id and a new picture",
        )
        .await;
        b.js("window.__lastT = []; return true;").await;
        through_the_appliance(b).await;
    }
    alice.press("Hang up").await;
    bob.wait_call_state("idle").await;
    bob.wait_status("Alice ended the call.").await;

    alice.quit().await;
    bob.quit().await;
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// In the call, the other side's video playing, and the panel saying it
/// goes through the appliance.
async fn through_the_appliance(b: &e2e::Browser) {
    b.wait_call_state("in-call").await;
    b.wait_for_within(
        "the other side's video playing",
        REMOTE_PLAYING,
        Duration::from_secs(30),
    )
    .await;
    b.wait_for(
        "the panel saying how",
        "document.getElementById('connection-state').textContent === 'Connected through the appliance'",
    )
    .await;
}
