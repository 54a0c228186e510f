//! `contrib/`: the systemd unit passes `systemd-analyze verify` and keeps
//! what the service needs (a state directory, the address families for the
//! LAN and mDNS); the Dockerfile's stages, paths, user, ports and volume
//! agree with each other and with the program, and `.dockerignore` keeps
//! keys and build output out of images. Nothing here downloads anything;
//! a real image build runs only when asked (`LANRTC_DOCKER_BUILD=1`) and a
//! Docker daemon answers.

mod netns;

use std::path::Path;
use std::process::Command;

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// `Key=value` lines of a unit file, in order.
fn directives(unit: &str) -> Vec<(String, String)> {
    unit.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn the_systemd_unit_verifies_and_keeps_what_the_service_needs() {
    let unit = read("contrib/lanrtc.service");
    let all = directives(&unit);
    let get = |key: &str| -> Vec<&str> {
        all.iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    assert_eq!(
        get("StateDirectory"),
        ["lanrtc"],
        "certs/ live in the state directory"
    );
    assert!(
        get("DynamicUser") == ["yes"] || !get("User").is_empty(),
        "a dedicated user, not root"
    );
    assert_eq!(get("Restart"), ["on-failure"]);
    let families = get("RestrictAddressFamilies").join(" ");
    for family in ["AF_INET", "AF_INET6", "AF_NETLINK"] {
        assert!(
            families.split_whitespace().any(|f| f == family),
            "{family} is needed (LAN, mDNS multicast, listing interfaces): {families}"
        );
    }
    for forbidden in ["PrivateNetwork", "IPAddressDeny"] {
        assert!(
            get(forbidden).is_empty(),
            "{forbidden} would cut the service off the LAN"
        );
    }
    let exec = get("ExecStart");
    assert_eq!(exec.len(), 1, "one ExecStart");

    let Ok(out) = Command::new("systemd-analyze").arg("--version").output() else {
        netns::skip_or_fail(
            "systemd-analyze verify",
            "systemd-analyze is not installed (apt-get install systemd)",
        );
        return;
    };
    assert!(out.status.success());
    // verify wants the program to exist: point it at the one just built.
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("lanrtc.service");
    std::fs::write(&copy, unit.replace(exec[0], env!("CARGO_BIN_EXE_lanrtc"))).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&copy)
        .output()
        .unwrap();
    let complaints =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    // Unknown keys and bad values are only warnings to systemd; here they
    // are failures.
    assert!(
        out.status.success() && complaints.trim().is_empty(),
        "systemd-analyze verify complains:\n{complaints}"
    );
}

/// A Dockerfile's instructions, continuation lines joined, with their stage.
fn instructions(text: &str) -> Vec<(usize, String, String)> {
    let mut out = Vec::new();
    let mut stage = 0;
    let mut pending = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && pending.is_empty()) {
            continue;
        }
        if let Some(start) = line.strip_suffix('\\') {
            pending.push_str(start);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let full = std::mem::take(&mut pending);
        let (word, rest) = full.split_once(' ').unwrap_or((&full, ""));
        let word = word.to_ascii_uppercase();
        if word == "FROM" {
            stage += 1;
        }
        out.push((stage, word, rest.trim().to_string()));
    }
    out
}

#[test]
fn the_dockerfile_agrees_with_itself_and_the_program() {
    let text = read("contrib/Dockerfile");
    let all = instructions(&text);
    let froms: Vec<&str> = all
        .iter()
        .filter(|(_, w, _)| w == "FROM")
        .map(|(_, _, r)| r.as_str())
        .collect();
    assert!(froms.len() >= 2, "multi-stage: {froms:?}");
    let build_stage = froms[0]
        .split_once(" AS ")
        .or_else(|| froms[0].split_once(" as "))
        .map(|(_, name)| name.trim())
        .expect("the first stage is named");
    let last = froms.len();
    let final_stage: Vec<(&str, &str)> = all
        .iter()
        .filter(|(s, _, _)| *s == last)
        .map(|(_, w, r)| (w.as_str(), r.as_str()))
        .collect();
    let find = |word: &str| -> Vec<&str> {
        final_stage
            .iter()
            .filter(|(w, _)| *w == word)
            .map(|(_, r)| *r)
            .collect()
    };

    // The binary the runtime stage copies is the one the build stage makes.
    let builds = all
        .iter()
        .any(|(s, w, r)| *s == 1 && w == "RUN" && r.contains("cargo build --release --locked"));
    assert!(
        builds,
        "the build stage runs cargo build --release --locked"
    );
    let workdir = all
        .iter()
        .find(|(s, w, _)| *s == 1 && w == "WORKDIR")
        .map(|(_, _, r)| r.clone())
        .expect("the build stage has a WORKDIR");
    let copies = find("COPY");
    let binary = format!("--from={build_stage} {workdir}/target/release/lanrtc ");
    let installed = copies
        .iter()
        .find_map(|c| c.strip_prefix(&binary))
        .unwrap_or_else(|| panic!("the runtime stage copies {binary}…: {copies:?}"));
    for copy in &copies {
        if let Some(from) = copy.strip_prefix("--from=") {
            assert!(
                from.starts_with(build_stage),
                "COPY from an unknown stage: {copy}"
            );
        }
    }
    let entry = find("ENTRYPOINT").join(" ");
    assert!(
        entry.contains(installed.trim()),
        "ENTRYPOINT runs {installed}: {entry}"
    );

    // Not root; the default ports; certificates in the volume.
    let user = find("USER");
    assert!(
        matches!(user.last(), Some(u) if !["root", "0"].contains(u)),
        "the runtime stage runs as a user other than root: {user:?}"
    );
    let exposed = find("EXPOSE").join(" ");
    let port = lanrtc::config::DEFAULT_PORT;
    for wanted in [format!("{port}/tcp"), format!("{port}/udp")] {
        assert!(
            exposed.split_whitespace().any(|p| p == wanted),
            "EXPOSE {wanted}: {exposed}"
        );
    }
    let state = find("ENV")
        .iter()
        .find_map(|e| e.strip_prefix("STATE_DIRECTORY="))
        .map(str::to_string)
        .expect("STATE_DIRECTORY is set, so certs/ goes to the volume");
    let volume = find("VOLUME").join(" ");
    assert!(
        volume.contains(&state),
        "the state directory {state} is a volume: {volume}"
    );
    assert!(
        copies
            .iter()
            .any(|c| c.contains("--chown=") && c.trim_end().ends_with(&state)),
        "the state directory belongs to the runtime user: {copies:?}"
    );

    // What the build context must hold, and must not.
    let ignore = read(".dockerignore");
    let ignored: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for wanted in ["target/", "certs/", "*.pem"] {
        assert!(
            ignored.contains(&wanted),
            ".dockerignore leaves out {wanted}: {ignored:?}"
        );
    }
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "build.rs",
        "src/main.rs",
        "public/index.html",
    ] {
        assert!(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(needed).exists(),
            "{needed} is in the build context"
        );
    }

    let daemon = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !daemon || std::env::var_os("LANRTC_DOCKER_BUILD").is_none() {
        eprintln!("not building the image: it needs a Docker daemon, the internet (base images, crates) and LANRTC_DOCKER_BUILD=1");
        return;
    }
    let status = Command::new("docker")
        .args([
            "build",
            "-f",
            "contrib/Dockerfile",
            "-t",
            "lanrtc:test",
            ".",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(status.success(), "docker build failed");
}
