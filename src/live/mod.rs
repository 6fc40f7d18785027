//! live (in progress)
/// stub
pub async fn read(
    _d: &crate::model::DesiredState,
    _b: &aws_config::SdkConfig,
) -> crate::model::LiveState {
    Default::default()
}
