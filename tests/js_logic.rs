//! The app's pure logic modules (public/js/logic/) have unit tests of their
//! own in tests/js/, run with Node's built-in test runner so `cargo test`
//! covers them too.

use std::process::Command;

#[test]
fn app_logic_unit_tests_pass() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js");
    let Ok(version) = Command::new("node").arg("--version").output() else {
        if std::env::var_os("CI").is_some() {
            panic!("node is needed in CI to run the app's logic tests (apt-get install nodejs)");
        }
        eprintln!("skipping the app's logic tests: node is not installed");
        return;
    };
    assert!(version.status.success());
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".test.mjs"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no tests in {dir}");
    let out = Command::new("node")
        .arg("--test")
        .args(&files)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "node --test failed:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        report.contains("# pass") && !report.contains("# pass 0"),
        "no test ran:\n{report}"
    );
}
