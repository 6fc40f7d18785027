//! Fuzzes the `keys.toml` loader: any text must give a desired state or
//! located diagnostics, never a panic. Bytes that are not UTF-8 go through
//! `load` (read from a file), the rest through `parse`.
//!
//! Run with `scripts/fuzz.sh [SECONDS]` (needs a nightly toolchain and cargo-fuzz).

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use c3::config::{self, ConfigError};
use c3::model::LiveState;
use libfuzzer_sys::fuzz_target;

/// One scratch file per fuzzing process, rewritten for each input.
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| std::env::temp_dir().join(format!("c3-fuzz-{}.toml", std::process::id())))
}

fn check(result: Result<c3::model::DesiredState, ConfigError>, source: Option<&str>) {
    match result {
        Ok(state) => {
            // A valid file can be planned (against nothing read: every target fails).
            let plan = c3::plan::plan(&state, &LiveState::default());
            assert!(plan.changes.is_empty());
        }
        Err(e) => {
            let text = e.to_string();
            assert!(!text.is_empty());
            if let ConfigError::Invalid { diagnostics, .. } = &e {
                assert!(!diagnostics.is_empty(), "Invalid without diagnostics");
                // Every diagnostic points into the file.
                let lines = source.map_or(usize::MAX, |s| s.split('\n').count());
                for d in diagnostics {
                    assert!(d.line >= 1 && d.column >= 1, "{d:?}");
                    assert!(d.line <= lines, "line {} of {lines}: {d:?}", d.line);
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    match std::str::from_utf8(data) {
        Ok(text) => check(config::parse(text, "fuzz.toml"), Some(text)),
        Err(_) => {
            let path = scratch();
            if std::fs::write(path, data).is_ok() {
                check(config::load(path), None);
            }
        }
    }
});
