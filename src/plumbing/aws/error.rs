//! The one error type of every AWS call: which call, AWS's error code and message, and whether
//! trying again can help.
//!
//! Throttling, 5xx answers, timeouts and lost connections are worth retrying; AccessDenied,
//! ResourceNotFound, InvalidParameterValue and every other 4xx are not, because the same request
//! will meet the same answer. Callers use [`AwsError::retry_can_help`] to decide, and the message
//! says what to change when AWS refused.

use std::fmt;

use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
use aws_sdk_codedeploy::config::http::HttpResponse;
use aws_sdk_codedeploy::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::plumbing::text::truncate;

/// The AWS service of a call, for the IAM action a denied call needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    CodeDeploy,
    Lambda,
    ElasticLoadBalancing,
    Ecs,
    CloudWatch,
    EventBridge,
}

impl Service {
    /// The prefix of the service's IAM actions.
    pub fn iam_prefix(self) -> &'static str {
        match self {
            Service::CodeDeploy => "codedeploy",
            Service::Lambda => "lambda",
            Service::ElasticLoadBalancing => "elasticloadbalancing",
            Service::Ecs => "ecs",
            Service::CloudWatch => "cloudwatch",
            Service::EventBridge => "events",
        }
    }
}

/// How a call failed before or after AWS answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// AWS answered with an error.
    Service,
    /// No answer in time.
    Timeout,
    /// The request did not reach AWS (connection refused or reset, DNS).
    Connection,
    /// An answer that could not be read.
    Response,
    /// The request could not be built (a bug or a bad parameter): sending it again changes nothing.
    Construction,
}

/// A failed AWS call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    pub service: Service,
    /// The API operation, such as `GetDeployment`.
    pub operation: &'static str,
    pub failure: Failure,
    /// AWS's error code, such as `AccessDeniedException`.
    pub code: Option<String>,
    pub message: Option<String>,
    pub http_status: Option<u16>,
    /// What to change, when the caller knows better than the generic advice.
    pub advice: Option<String>,
}

impl AwsError {
    /// Reads an SDK error of any service.
    pub fn from_sdk<E>(service: Service, operation: &'static str, error: &SdkError<E, HttpResponse>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let failure = match error {
            SdkError::ServiceError(_) => Failure::Service,
            SdkError::TimeoutError(_) => Failure::Timeout,
            SdkError::DispatchFailure(dispatch) if dispatch.is_timeout() => Failure::Timeout,
            SdkError::DispatchFailure(_) => Failure::Connection,
            SdkError::ResponseError(_) => Failure::Response,
            _ => Failure::Construction,
        };
        let message = match (error.code(), error.message()) {
            (_, Some(message)) => Some(message.to_string()),
            (Some(_), None) => None,
            (None, None) => Some(DisplayErrorContext(error).to_string()),
        };
        AwsError {
            service,
            operation,
            failure,
            code: error.code().map(str::to_string),
            message,
            http_status: error.raw_response().map(|response| response.status().as_u16()),
            advice: None,
        }
    }

    /// AWS's error code, if AWS answered with one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// Whether AWS answered with this error code.
    pub fn is(&self, code: &str) -> bool {
        self.code() == Some(code)
    }

    /// Whether sending the same request again may succeed.
    pub fn retry_can_help(&self) -> bool {
        retry_can_help(self.failure, self.code(), self.http_status)
    }

    /// Replaces the generic advice with what the caller knows to do.
    pub fn with_advice(mut self, advice: impl Into<String>) -> AwsError {
        self.advice = Some(advice.into());
        self
    }

    /// What to change, if anything can be said: the caller's advice, or for a denied call the
    /// IAM action the function's role lacks.
    pub fn advice(&self) -> Option<String> {
        if let Some(advice) = &self.advice {
            return Some(advice.clone());
        }
        if self.code().is_some_and(is_access_denied) {
            return Some(format!(
                "grant this function's role {}:{}",
                self.service.iam_prefix(),
                self.operation
            ));
        }
        None
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: ", self.operation)?;
        let detail = match (&self.code, &self.message) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.clone(),
            (None, Some(message)) => message.clone(),
            (None, None) => match self.http_status {
                Some(status) => format!("HTTP {status}"),
                None => "no answer".to_string(),
            },
        };
        f.write_str(&truncate(&detail))?;
        if let Some(advice) = self.advice() {
            write!(f, "; {advice}")?;
        }
        Ok(())
    }
}

impl std::error::Error for AwsError {}

/// Whether a code means the caller lacks a permission (`AccessDeniedException`,
/// `AccessDenied`, `KMSAccessDeniedException`, …).
pub(crate) fn is_access_denied(code: &str) -> bool {
    code.contains("AccessDenied")
}

/// The retry decision, apart from the SDK types so that it can be tested case by case.
pub(crate) fn retry_can_help(failure: Failure, code: Option<&str>, http_status: Option<u16>) -> bool {
    match failure {
        Failure::Timeout | Failure::Connection | Failure::Response => true,
        Failure::Construction => false,
        Failure::Service => {
            // A 5xx from a denied KMS key or the like is still a refusal.
            if code.is_some_and(is_access_denied) {
                return false;
            }
            let known_transient =
                code.is_some_and(|code| THROTTLING_ERRORS.contains(&code) || TRANSIENT_ERRORS.contains(&code));
            known_transient || http_status.is_some_and(|status| status == 429 || status >= 500)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_server_errors_and_lost_connections_are_worth_retrying() {
        let retry = |failure, code, status| retry_can_help(failure, code, status);
        assert!(retry(Failure::Service, Some("ThrottlingException"), Some(400)));
        assert!(retry(Failure::Service, Some("TooManyRequestsException"), Some(429)));
        assert!(retry(Failure::Service, Some("InternalFailure"), Some(500)));
        assert!(retry(Failure::Service, Some("ServiceUnavailable"), Some(503)));
        assert!(retry(Failure::Service, None, Some(502)));
        assert!(retry(Failure::Timeout, None, None));
        assert!(retry(Failure::Connection, None, None));
    }

    #[test]
    fn refusals_are_not_worth_retrying() {
        let retry = |code, status| retry_can_help(Failure::Service, Some(code), Some(status));
        assert!(!retry("AccessDeniedException", 403));
        assert!(!retry("AccessDeniedException", 400));
        assert!(!retry("KMSAccessDeniedException", 502));
        assert!(!retry("ResourceNotFoundException", 404));
        assert!(!retry("InvalidParameterValueException", 400));
        assert!(!retry("PriorityInUse", 400));
        assert!(!retry_can_help(Failure::Construction, None, None));
    }

    fn error(code: &str) -> AwsError {
        AwsError {
            service: Service::CodeDeploy,
            operation: "GetDeployment",
            failure: Failure::Service,
            code: Some(code.into()),
            message: Some("User: arn:aws:sts::1:assumed-role/r/f is not authorized".into()),
            http_status: Some(400),
            advice: None,
        }
    }

    #[test]
    fn a_denied_call_names_the_iam_action_to_grant() {
        let denied = error("AccessDeniedException");
        assert_eq!(
            denied.to_string(),
            "GetDeployment failed: AccessDeniedException: User: arn:aws:sts::1:assumed-role/r/f is not authorized; \
             grant this function's role codedeploy:GetDeployment"
        );
        let throttled = error("ThrottlingException");
        assert!(!throttled.to_string().contains("grant"), "{throttled}");
        let advised = throttled.with_advice("wait");
        assert!(advised.to_string().ends_with("; wait"), "{advised}");
    }
}
