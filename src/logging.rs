//! Logging to stderr through `tracing`. Levels apply to c3's own events; the
//! AWS SDK's internals stay at `warn` unless `C3_LOG` says otherwise, so
//! request headers and credentials are never logged by default.

use tracing_subscriber::EnvFilter;

/// Installs the subscriber. `C3_LOG` (an `EnvFilter` directive) overrides `-v`.
/// `ansi`: colour the log lines (see [`crate::options::ColorChoice::resolve`]);
/// never when stderr is a file or a pipe, so CI logs carry no escape codes.
pub fn init(verbose: u8, quiet: bool, ansi: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = std::env::var("C3_LOG")
        .ok()
        .and_then(|d| EnvFilter::try_new(d).ok())
        .unwrap_or_else(|| EnvFilter::new(format!("warn,c3={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}
