//! Logging to stderr through `tracing`. Levels apply to c3's own events; the
//! AWS SDK's internals stay at `warn` unless `C3_LOG` says otherwise; the
//! SDK events that print request headers and credentials are always off.

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
    // The SDK's signing and request-orchestration events print request headers
    // (access key ids, session tokens): they stay off whatever C3_LOG says.
    const NEVER: &str =
        "aws_sigv4=off,aws_smithy_runtime::client::orchestrator=off,aws_config::sts=info";
    let directives = std::env::var("C3_LOG").unwrap_or_else(|_| format!("warn,c3={level}"));
    let filter = EnvFilter::try_new(format!("{directives},{NEVER}"))
        .unwrap_or_else(|_| EnvFilter::new(format!("warn,c3={level},{NEVER}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}
