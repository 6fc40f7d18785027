//! The one table of exit codes.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success (with `--detailed-exitcode`: no differences) |
//! | 1 | error: bad input, usage error, a target that could not be read or written, or apply left executable changes |
//! | 2 | only with `--detailed-exitcode`: differences (executable or reported) |

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0.
    Success,
    /// 1.
    Failure,
    /// 2 (`--detailed-exitcode` only).
    Differences,
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> Self {
        match s {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Differences => ExitCode::from(2),
        }
    }
}
