//! Logging to stderr through `tracing`, for diagnosis: what a user needs to
//! act on is printed by the printer, not logged. Below `-vv` nothing of the
//! AWS SDK is shown (its warnings carry Debug dumps and retry chatter); `-vv`
//! adds the SDK's warnings and c3's debug events, `-vvv` the SDK's info and
//! c3's trace. `C3_LOG` (an `EnvFilter` directive) overrides all of this. The
//! SDK events that print request headers and credentials are always off.

use tracing_subscriber::EnvFilter;

/// The SDK's signing and request-orchestration events print request headers
/// (access key ids, session tokens): they stay off whatever C3_LOG says.
const NEVER: &str = "aws_sigv4=off,aws_smithy_runtime::client::orchestrator=off";

/// Installs the subscriber. `C3_LOG` (an `EnvFilter` directive) overrides `-v`.
/// `ansi`: colour the log lines (see [`crate::cli::ColorChoice::resolve`]);
/// never when stderr is a file or a pipe, so CI logs carry no escape codes.
#[allow(clippy::disallowed_methods)] // Diagnosis, below the printer: tracing writes its own lines.
pub fn init(verbose: u8, quiet: bool, ansi: bool) {
    // (default directives, the most the assume-role provider may say: its
    // debug events carry credentials).
    let (default, sts) = match (quiet, verbose) {
        (true, _) => ("off,c3=error", "off"),
        (false, 0) => ("off,c3=warn", "off"),
        (false, 1) => ("off,c3=info", "off"),
        (false, 2) => ("warn,c3=debug", "warn"),
        (false, _) => ("info,c3=trace", "info"),
    };
    let (directives, sts) = match std::env::var("C3_LOG") {
        Ok(d) => (d, "info"),
        Err(_) => (default.to_string(), sts),
    };
    let filter = EnvFilter::try_new(format!("{directives},{NEVER},aws_config::sts={sts}"))
        .unwrap_or_else(|_| EnvFilter::new(format!("{default},{NEVER},aws_config::sts=off")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}
