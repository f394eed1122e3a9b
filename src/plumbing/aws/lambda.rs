//! Lambda's reads other than Invoke: a version's state (GetFunctionConfiguration), which says
//! whether it can be invoked yet (`Pending` while SnapStart takes its snapshot or Lambda
//! Managed Instances provision it), as AWS's `published-version-active` waiter reads it.

use aws_sdk_lambda::Client;

use super::error::{AwsError, Service};

/// What GetFunctionConfiguration says of one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VersionState {
    /// `Pending`, `Active`, `Inactive`, `Failed`, ... (as AWS spells it).
    pub state: String,
    pub reason_code: Option<String>,
    pub reason: Option<String>,
}

/// The state of `function` at `version` (a number, `$LATEST`, `$LATEST.PUBLISHED`, an alias).
pub(crate) async fn version_state(client: &Client, function: &str, version: &str) -> Result<VersionState, AwsError> {
    let configuration = client
        .get_function_configuration()
        .function_name(function)
        .qualifier(version)
        .send()
        .await
        .map_err(|error| AwsError::from_sdk(Service::Lambda, "GetFunctionConfiguration", &error))?;
    Ok(VersionState {
        state: configuration
            .state()
            .map_or_else(|| "Unknown".to_string(), |state| state.as_str().to_string()),
        reason_code: configuration.state_reason_code().map(|code| code.as_str().to_string()),
        reason: configuration.state_reason().map(str::to_string),
    })
}
