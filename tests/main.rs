//! The one integration-test binary; each module is an area.

// Tests may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Tests spell out whole scenarios; the 80-line limit is for the product's code.
#![allow(clippy::too_many_lines, clippy::many_single_char_names)]
// A test may print what it measured (captured unless --nocapture), and its
// helpers take what they are given.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::needless_pass_by_value
)]

mod support;

mod cli;
mod config;
mod docs;
mod e2e;
mod leaks;
mod live;
mod permissions;
