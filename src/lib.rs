//! c3 keeps AWS KMS customer-managed symmetric keys, and the IAM policies
//! that grant their use, in the state a `keys.toml` declares, across many
//! accounts and regions.
//!
//! The layers, in the order a run goes through them:
//!
//! - [`config`]: `keys.toml` → [`model::DesiredState`] (strict parse, full validation).
//! - [`aws`] and [`live`]: the accounts → [`model::LiveState`] (plain values, no SDK type).
//! - [`plan`]: desired + live → [`plan::Plan`], a pure function.
//! - [`render`]: the plan as a table, a diff or JSON.
//! - [`commands`]: the subcommands, the only module that touches every layer.

pub mod apply;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod config;
pub mod exit;
pub mod live;
pub mod logging;
pub mod model;
pub mod options;
pub mod plan;
pub mod policy;
pub mod render;
