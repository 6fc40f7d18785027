//! The one integration-test binary; each module is an area.

mod support;

mod config;
mod e2e;
mod live;
