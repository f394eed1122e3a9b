//! What was deployed: GetDeployment, then GetApplicationRevision for the AppSpec's text.
//!
//! GetDeployment names the revision only by its type and `sha256` (its `content` "is always
//! null", as the SDK's documentation says); GetApplicationRevision with that revision returns
//! the text. Inline content is still read when it is there, since it costs nothing.

use std::fmt;

use aws_sdk_codedeploy::Client;
use aws_sdk_codedeploy::types::{DeploymentInfo, RevisionLocation, RevisionLocationType};

use crate::plumbing::aws::codedeploy::get_deployment;
use crate::plumbing::aws::elb::ListenerError;
use crate::plumbing::aws::{AwsError, Service};

/// The facts about a deployment that the checks and the logs need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeploymentFacts {
    pub application: String,
    pub group: String,
    /// The deployment's description (where `[skip preflight]` may be written).
    pub description: String,
    pub appspec: AppSpecText,
}

/// Where the AppSpec's text is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AppSpecText {
    Content(String),
    /// An S3 or GitHub revision: its AppSpec is not available through CodeDeploy's API.
    Elsewhere(String),
}

/// How to get the AppSpec text out of a revision location, decided without I/O.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RevisionSource {
    Inline(String),
    /// Only a sha256 came back (the normal case): ask GetApplicationRevision.
    Lookup,
    Elsewhere(String),
}

pub(crate) fn revision_source(revision: &RevisionLocation) -> RevisionSource {
    let inline = revision
        .app_spec_content()
        .and_then(|c| c.content())
        .or_else(|| revision.string().and_then(|s| s.content()))
        .filter(|content| !content.trim().is_empty());
    if let Some(content) = inline {
        return RevisionSource::Inline(content.to_string());
    }
    match revision.revision_type() {
        Some(RevisionLocationType::S3) => RevisionSource::Elsewhere("an S3 revision".into()),
        Some(RevisionLocationType::GitHub) => RevisionSource::Elsewhere("a GitHub revision".into()),
        _ => RevisionSource::Lookup,
    }
}

/// Why the deployment could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DiscoveryError {
    Aws(AwsError),
    NoRevision {
        deployment_id: String,
    },
    NoContent {
        application: String,
    },
    /// An ECS deployment group without a test traffic route: nothing to send checks to.
    NoTestRoute {
        application: String,
        group: String,
    },
    /// The test listener's address could not be worked out.
    Listener(ListenerError),
}

impl fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiscoveryError::Aws(error) => error.fmt(f),
            DiscoveryError::NoRevision { deployment_id } => write!(
                f,
                "deployment {deployment_id} has no revision, so there is no AppSpec to read"
            ),
            DiscoveryError::NoContent { application } => write!(
                f,
                "GetApplicationRevision returned no AppSpec content for application {application}"
            ),
            DiscoveryError::NoTestRoute { application, group } => write!(
                f,
                "deployment group {application}/{group} has no test traffic route, so preflight cannot tell where \
                 the replacement tasks answer: give the deployment group a test listener (its load balancer \
                 info's testTrafficRoute), or set ALB_URL to the test listener (host:port)"
            ),
            DiscoveryError::Listener(error) => write!(f, "the deployment group's test listener: {error}"),
        }
    }
}

impl std::error::Error for DiscoveryError {}

impl From<AwsError> for DiscoveryError {
    fn from(error: AwsError) -> DiscoveryError {
        DiscoveryError::Aws(error)
    }
}

/// Asks CodeDeploy what the deployment is and fetches its AppSpec.
pub(crate) async fn discover(client: &Client, deployment_id: &str) -> Result<DeploymentFacts, DiscoveryError> {
    let info = get_deployment(client, deployment_id).await?;
    facts_of(client, deployment_id, &info).await
}

/// The facts of a deployment GetDeployment described as `info`, its AppSpec fetched.
pub(crate) async fn facts_of(
    client: &Client,
    deployment_id: &str,
    info: &DeploymentInfo,
) -> Result<DeploymentFacts, DiscoveryError> {
    let application = info.application_name().unwrap_or_default().to_string();
    let revision = info.revision().ok_or_else(|| DiscoveryError::NoRevision {
        deployment_id: deployment_id.to_string(),
    })?;
    let appspec = match revision_source(revision) {
        RevisionSource::Inline(content) => AppSpecText::Content(content),
        RevisionSource::Elsewhere(kind) => AppSpecText::Elsewhere(kind),
        RevisionSource::Lookup => AppSpecText::Content(fetch_revision(client, &application, revision).await?),
    };
    Ok(DeploymentFacts {
        group: info.deployment_group_name().unwrap_or_default().to_string(),
        description: info.description().unwrap_or_default().to_string(),
        application,
        appspec,
    })
}

async fn fetch_revision(
    client: &Client,
    application: &str,
    revision: &RevisionLocation,
) -> Result<String, DiscoveryError> {
    let output = client
        .get_application_revision()
        .application_name(application)
        .revision(revision.clone())
        .send()
        .await
        .map_err(|error| {
            let error = AwsError::from_sdk(Service::CodeDeploy, "GetApplicationRevision", &error);
            if error.is("RevisionDoesNotExistException") {
                error.with_advice(format!(
                    "CodeDeploy has no revision with the deployment's sha256 in application {application}"
                ))
            } else {
                error
            }
        })?;
    match output.revision().map(revision_source) {
        Some(RevisionSource::Inline(content)) => Ok(content),
        _ => Err(DiscoveryError::NoContent {
            application: application.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    // `RawString` is deprecated, but older tools still create String revisions, so they are tested.
    #![allow(deprecated)]
    use super::*;
    use aws_sdk_codedeploy::types::{AppSpecContent, RawString, S3Location};

    #[test]
    fn inline_appspec_content_or_string_is_used_directly() {
        let content = RevisionLocation::builder()
            .revision_type(RevisionLocationType::AppSpecContent)
            .app_spec_content(AppSpecContent::builder().content("Resources: []").sha256("ab").build())
            .build();
        assert_eq!(
            revision_source(&content),
            RevisionSource::Inline("Resources: []".into())
        );
        let string = RevisionLocation::builder()
            .revision_type(RevisionLocationType::String)
            .string(RawString::builder().content("{}").build())
            .build();
        assert_eq!(revision_source(&string), RevisionSource::Inline("{}".into()));
    }

    #[test]
    fn sha256_only_needs_a_lookup() {
        let hashed = RevisionLocation::builder()
            .revision_type(RevisionLocationType::AppSpecContent)
            .app_spec_content(AppSpecContent::builder().sha256("ab12").build())
            .build();
        assert_eq!(revision_source(&hashed), RevisionSource::Lookup);
    }

    #[test]
    fn s3_revisions_are_elsewhere() {
        let s3 = RevisionLocation::builder()
            .revision_type(RevisionLocationType::S3)
            .s3_location(S3Location::builder().bucket("b").key("k").build())
            .build();
        assert!(matches!(revision_source(&s3), RevisionSource::Elsewhere(kind) if kind.contains("S3")));
    }
}
