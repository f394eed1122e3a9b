//! One attempt at one check: a Lambda Invoke or an HTTP request, judged by [`super::judge`].

use aws_sdk_lambda::primitives::Blob;
use reqwest::header::HeaderMap;

use super::Check;
use super::config::{Config, EventFormat, Mode};
use super::expected_status::ExpectedStatus;
use super::judge::{Judgement, judge_http_status, judge_invocation};
use crate::plumbing::aws::error::is_access_denied;
use crate::plumbing::aws::{AwsError, Service};
use crate::plumbing::text::truncate;

/// The clients and request settings every attempt shares.
pub struct Probe {
    lambda: aws_sdk_lambda::Client,
    /// Built only when HTTP checks are configured, to keep TLS set-up out of the Lambda path.
    http: Option<reqwest::Client>,
    method: reqwest::Method,
    headers: HeaderMap,
    expected: ExpectedStatus,
}

impl Probe {
    /// `lambda` should make one attempt per call (see `AwsClients::lambda`): the runner retries.
    pub fn new(config: &Config, lambda: aws_sdk_lambda::Client) -> Result<Probe, String> {
        let http = match &config.mode {
            Mode::Http { verify_tls, .. } => Some(
                reqwest::Client::builder()
                    // A health check judges the answer it gets, as a load balancer would.
                    .redirect(reqwest::redirect::Policy::none())
                    .tls_danger_accept_invalid_certs(!verify_tls)
                    .build()
                    .map_err(|error| format!("cannot set up the HTTP client: {error}"))?,
            ),
            Mode::Lambda(_) => None,
        };
        Ok(Probe {
            lambda,
            http,
            method: config.request.method.clone(),
            headers: config.request.headers.iter().cloned().collect(),
            expected: config.expected.clone(),
        })
    }

    /// Sends the check once. Timeouts are the caller's business.
    pub async fn attempt(&self, check: &Check) -> Judgement {
        match check {
            Check::Lambda {
                function,
                version,
                format,
                payload,
                ..
            } => self.invoke(function, version, *format, payload).await,
            Check::Http { url } => self.request(url.clone()).await,
        }
    }

    async fn invoke(
        &self,
        function: &str,
        version: &str,
        format: Option<EventFormat>,
        payload: &serde_json::Value,
    ) -> Judgement {
        let body = match serde_json::to_vec(payload) {
            Ok(body) => body,
            Err(error) => return Judgement::fail_for_good(None, format!("cannot encode the payload: {error}")),
        };
        let result = self
            .lambda
            .invoke()
            .function_name(function)
            .qualifier(version)
            .payload(Blob::new(body))
            .send()
            .await;
        match result {
            Ok(output) => {
                let answer = output.payload().map(Blob::as_ref).unwrap_or_default();
                judge_invocation(output.function_error(), answer, format, &self.expected)
            }
            Err(error) => judge_invoke_error(
                function,
                version,
                &AwsError::from_sdk(Service::Lambda, "Invoke", &error),
            ),
        }
    }

    async fn request(&self, url: reqwest::Url) -> Judgement {
        let Some(client) = &self.http else {
            return Judgement::fail_for_good(None, "internal: HTTP check without an HTTP client");
        };
        let sent = client
            .request(self.method.clone(), url)
            .headers(self.headers.clone())
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                // The body only matters for the log line when the status is unexpected.
                let body = if self.expected.contains(status) {
                    String::new()
                } else {
                    response.text().await.unwrap_or_default()
                };
                judge_http_status(status, &self.expected, &body)
            }
            // Refused or reset connections are what a task still starting gives: worth another try.
            Err(error) => Judgement::fail(None, format!("request failed: {}", describe_reqwest_error(&error))),
        }
    }
}

/// What a failed Invoke means for the check, and what to change when no attempt can succeed.
pub fn judge_invoke_error(function: &str, version: &str, error: &AwsError) -> Judgement {
    let target = format!("{function}:{version}");
    let said = || {
        format!(
            "AWS said: {}",
            truncate(error.message.as_deref().unwrap_or("nothing more"))
        )
    };
    match error.code() {
        Some(code) if is_access_denied(code) => Judgement::fail_for_good(
            None,
            format!(
                "Lambda refused to let the hook invoke {target} ({code}): tag function {function} \
                 preflight:check=true, which the template's default permission lets the hook invoke, or grant the \
                 hook's role lambda:InvokeFunction on it and its versions (the InvokeTargetArns parameter, e.g. \
                 arn:aws:lambda:REGION:ACCOUNT:function:{function}:*); {}",
                said()
            ),
        ),
        Some(code @ "ResourceNotFoundException") => Judgement::fail_for_good(
            None,
            format!(
                "function {function} has no version {version} ({code}): check the AppSpec's Name and TargetVersion, \
                 and that the hook runs in the function's account and region; {}",
                said()
            ),
        ),
        _ if error.retry_can_help() => Judgement::fail(None, format!("Lambda Invoke of {target} failed: {error}")),
        _ => Judgement::fail_for_good(None, format!("Lambda Invoke of {target} failed: {error}")),
    }
}

/// reqwest's top-level message is terse ("error sending request"); the cause says what happened.
fn describe_reqwest_error(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    truncate(&message)
}
