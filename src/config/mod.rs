//! config (in progress)
use crate::model::DesiredState;
/// stub
#[derive(Debug, thiserror::Error)]
#[error("stub")]
pub struct ConfigError;
/// stub
pub fn load(_p: &std::path::Path) -> Result<DesiredState, ConfigError> {
    Err(ConfigError)
}
/// stub
pub fn schema_json() -> String {
    String::new()
}
