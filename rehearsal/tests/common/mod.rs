//! What the rehearsal's tests share: the debug `bootstrap` they rehearse with.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The debug `bootstrap` that `cargo test --workspace` builds beside `rehearse`; built here, once,
/// when this package's tests run alone.
pub fn bootstrap() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_BIN_EXE_rehearse")).with_file_name("bootstrap");
        if !path.is_file() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = std::process::Command::new(cargo)
                .args(["build", "--locked", "-p", "preflight", "--bin", "bootstrap"])
                .status()
                .expect("run cargo");
            assert!(status.success(), "building bootstrap failed");
        }
        path
    })
}

/// The story of `rehearsed`, after asserting that it ended as expected, reported `reported`, and
/// tells each of `told`.
pub fn story_telling(rehearsed: &rehearsal::rehearsed::Rehearsed, reported: &str, told: &[&str]) -> String {
    let story = rehearsed.lines.join("\n");
    assert!(rehearsed.as_expected(), "{story}");
    assert_eq!(rehearsed.reported.as_deref(), Some(reported), "{story}");
    for told in told {
        assert!(story.contains(told), "{told:?} not in\n{story}");
    }
    story
}
