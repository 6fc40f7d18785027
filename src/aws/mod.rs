//! aws (in progress)
/// stub
pub async fn load_base_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
