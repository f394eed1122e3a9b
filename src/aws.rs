//! AWS SDK set-up shared by every call, and error messages people can act on.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_codedeploy::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// Loads region and credentials the usual way (and `AWS_ENDPOINT_URL`, which the rehearsal and
/// tests use). Throttling and 5xx are retried with a short backoff: the report must go out well
/// inside the deadline margin.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(4)
                .with_initial_backoff(Duration::from_millis(200)),
        )
        .timeout_config(TimeoutConfig::builder().connect_timeout(Duration::from_secs(3)).build())
        .load()
        .await
}

/// `GetDeployment failed: AccessDeniedException: User … is not authorized …`.
pub fn describe_sdk_error<E, R>(operation: &str, error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let detail = match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => DisplayErrorContext(error).to_string(),
    };
    format!("{operation} failed: {}", crate::checks::judge::truncate(&detail))
}
