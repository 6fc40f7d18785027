//! The one integration-test binary; each module is an area.

// Tests may panic on what they set up themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod cli;
mod config;
mod docs;
mod e2e;
mod leaks;
mod live;
mod permissions;
