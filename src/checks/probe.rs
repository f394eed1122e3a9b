//! One attempt at one check: a Lambda Invoke or an HTTP request, timed and judged by
//! [`super::judge`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use aws_lambda_events::http::{HeaderName, HeaderValue};
use aws_sdk_lambda::primitives::Blob;
use tokio::time::Instant;

use super::assertions::Expectations;
use super::config::{Config, EventFormat, Mode};
use super::judge::{Judgement, judge_http, judge_invocation};
use super::verdict::Cause;
use super::{Check, Request};
use crate::plumbing::aws::error::is_access_denied;
use crate::plumbing::aws::lambda::{VersionState, version_state};
use crate::plumbing::aws::{AwsError, Service};
use crate::plumbing::text::truncate;

/// The most of a body an HTTP check reads: enough for any health document, bounded so that a
/// target streaming without end cannot exhaust the hook's memory.
const BODY_LIMIT: usize = 1024 * 1024;

/// The clients every attempt shares.
pub struct Probe {
    lambda: aws_sdk_lambda::Client,
    /// Built by the first HTTP check (at once with `ALB_URL`), to keep TLS set-up out of the
    /// Lambda path.
    http: OnceLock<Result<reqwest::Client, String>>,
    /// For requests that must reach another address than their URL's host (a listener rule's
    /// `host-header`): one client per address, each resolving every name to it. Separate
    /// clients keep separate connection pools, so a connection made to one listener is never
    /// reused for another that serves the same host name.
    routed: Mutex<HashMap<String, reqwest::Client>>,
    verify_tls: bool,
}

/// Resolves every name to one address's addresses: the URL's host stays the `Host` header and
/// the TLS server name while the connection goes to the listener.
struct ResolveTo(String);

impl reqwest::dns::Resolve for ResolveTo {
    fn resolve(&self, _name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let address = self.0.clone();
        Box::pin(async move {
            // Port 0: the connector puts the URL's port on every address.
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((address.as_str(), 0)).await?.collect();
            Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl Probe {
    /// `lambda` should make one attempt per call (see `AwsClients::lambda`): the runner retries.
    pub fn new(config: &Config, lambda: aws_sdk_lambda::Client) -> Result<Probe, String> {
        let probe = Probe {
            lambda,
            http: OnceLock::new(),
            routed: Mutex::new(HashMap::new()),
            verify_tls: config.verify_tls,
        };
        if matches!(config.mode, Mode::Http { .. }) {
            probe.http_client()?;
        }
        Ok(probe)
    }

    fn build_client(&self, resolve_to: Option<ResolveTo>) -> Result<reqwest::Client, String> {
        let mut builder = reqwest::Client::builder()
            // A health check judges the answer it gets, as a load balancer would.
            .redirect(reqwest::redirect::Policy::none())
            .tls_danger_accept_invalid_certs(!self.verify_tls);
        if let Some(resolver) = resolve_to {
            builder = builder.dns_resolver(Arc::new(resolver));
        }
        builder
            .build()
            .map_err(|error| format!("cannot set up the HTTP client: {error}"))
    }

    fn http_client(&self) -> Result<&reqwest::Client, String> {
        self.http
            .get_or_init(|| self.build_client(None))
            .as_ref()
            .map_err(String::clone)
    }

    /// The client for a request: the shared one, or `connect_to`'s.
    fn client_for(&self, connect_to: Option<&str>) -> Result<reqwest::Client, String> {
        let Some(address) = connect_to else {
            return self.http_client().cloned();
        };
        // A poisoned lock only follows a panic elsewhere; the clients in it are still sound.
        let mut routed = self.routed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(client) = routed.get(address) {
            return Ok(client.clone());
        }
        let client = self.build_client(Some(ResolveTo(address.to_string())))?;
        routed.insert(address.to_string(), client.clone());
        Ok(client)
    }

    /// Sends the check once. Timeouts are the caller's business.
    pub async fn attempt(&self, check: &Check) -> Judgement {
        match &check.request {
            Request::Lambda {
                function,
                version,
                format,
                payload,
                ..
            } => self.invoke(function, version, *format, payload, &check.expect).await,
            Request::Http {
                url,
                method,
                headers,
                connect_to,
            } => {
                let client = match self.client_for(connect_to.as_deref()) {
                    Ok(client) => client,
                    Err(why) => return Judgement::error_for_good(Cause::Internal, why),
                };
                self.request(&client, url.clone(), method.clone(), headers, &check.expect)
                    .await
            }
        }
    }

    async fn invoke(
        &self,
        function: &str,
        version: &str,
        format: Option<EventFormat>,
        payload: &serde_json::Value,
        expect: &Expectations,
    ) -> Judgement {
        let body = match serde_json::to_vec(payload) {
            Ok(body) => body,
            Err(error) => {
                return Judgement::error_for_good(Cause::Internal, format!("cannot encode the payload: {error}"));
            }
        };
        let started = Instant::now();
        let result = self
            .lambda
            .invoke()
            .function_name(function)
            .qualifier(version)
            .payload(Blob::new(body))
            .send()
            .await;
        let latency = started.elapsed();
        match result {
            Ok(output) => {
                let answer = output.payload().map(Blob::as_ref).unwrap_or_default();
                judge_invocation(output.function_error(), answer, format, expect, latency)
            }
            Err(error) => {
                let error = AwsError::from_sdk(Service::Lambda, "Invoke", &error);
                // Lambda refuses to invoke a version that is not ready yet (409, "currently in the
                // following state: Pending"); its state says whether to wait or to give up.
                if error.is("ResourceConflictException") || error.is("ResourceNotReadyException") {
                    return match version_state(&self.lambda, function, version).await {
                        Ok(state) => judge_version_state(function, version, &state, &error),
                        Err(state_error) => judge_state_error(function, version, &state_error),
                    };
                }
                judge_invoke_error(function, version, &error)
            }
        }
    }

    async fn request(
        &self,
        client: &reqwest::Client,
        url: reqwest::Url,
        method: reqwest::Method,
        headers: &[(HeaderName, HeaderValue)],
        expect: &Expectations,
    ) -> Judgement {
        let started = Instant::now();
        let sent = client
            .request(method, url)
            .headers(headers.iter().cloned().collect())
            .send()
            .await;
        match sent {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let answer_headers = response
                    .headers()
                    .iter()
                    .map(|(name, value)| {
                        (
                            name.as_str().to_string(),
                            String::from_utf8_lossy(value.as_bytes()).into_owned(),
                        )
                    })
                    .collect();
                // The body matters to the assertions that read it, and to the log line when the
                // status is unexpected.
                let body = if expect.reads_body() || !expect.status.contains(status) {
                    match read_body(&mut response).await {
                        Ok(body) => body,
                        Err(error) => {
                            return Judgement::error(format!(
                                "status {status}, then the body could not be read: {}",
                                describe_reqwest_error(&error)
                            ));
                        }
                    }
                } else {
                    String::new()
                };
                judge_http(status, answer_headers, body, expect, started.elapsed())
            }
            // Refused or reset connections are what a task still starting gives: worth another try.
            Err(error) => Judgement::error(format!("request failed: {}", describe_reqwest_error(&error))),
        }
    }
}

/// Up to [`BODY_LIMIT`] bytes of the body, as text.
async fn read_body(response: &mut reqwest::Response) -> Result<String, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = BODY_LIMIT.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= BODY_LIMIT {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// What a failed Invoke means for the check, and what to change when no attempt can succeed.
pub(crate) fn judge_invoke_error(function: &str, version: &str, error: &AwsError) -> Judgement {
    let target = format!("{function}:{version}");
    let said = || {
        format!(
            "AWS said: {}",
            truncate(error.message.as_deref().unwrap_or("nothing more"))
        )
    };
    match error.code() {
        Some(code) if is_access_denied(code) => Judgement::error_for_good(
            Cause::NotPermitted,
            format!(
                "Lambda refused to let the hook invoke {target} ({code}): tag function {function} \
                 preflight:check=true, which the template's default permission lets the hook invoke, or grant the \
                 hook's role lambda:InvokeFunction on it and its versions (the InvokeTargetArns parameter, e.g. \
                 arn:aws:lambda:REGION:ACCOUNT:function:{function}:*); {}",
                said()
            ),
        ),
        Some(code @ "ResourceNotFoundException") => Judgement::error_for_good(
            Cause::NotFound,
            format!(
                "function {function} has no version {version} ({code}): check the AppSpec's Name and TargetVersion, \
                 and that the hook runs in the function's account and region; {}",
                said()
            ),
        ),
        _ if error.retry_can_help() => Judgement::error(format!("Lambda Invoke of {target} failed: {error}")),
        _ => Judgement::error_for_good(Cause::of(error), format!("Lambda Invoke of {target} failed: {error}")),
    }
}

/// What a version's state means when Invoke was refused for it: `Pending` is waited for (no
/// attempt is spent), `Failed` is the release's failure with AWS's reason code, and any other
/// state leaves the refusal to be judged as usual.
pub(crate) fn judge_version_state(
    function: &str,
    version: &str,
    state: &VersionState,
    refusal: &AwsError,
) -> Judgement {
    let reason = || {
        let code = state.reason_code.as_deref().unwrap_or("no reason code");
        match state.reason.as_deref() {
            Some(reason) => format!("{code}: {}", truncate(reason)),
            None => code.to_string(),
        }
    };
    match state.state.as_str() {
        "Pending" => Judgement::NotReady {
            reason: format!(
                "{function}:{version} is Pending ({}): waiting for it to become Active",
                reason()
            ),
        },
        "Failed" => Judgement::error_for_good(
            Cause::ReleaseFailed,
            format!("{function}:{version} failed to become Active ({})", reason()),
        ),
        _ => judge_invoke_error(function, version, refusal),
    }
}

/// A refused GetFunctionConfiguration: a denial says which permission to grant; anything else is
/// worth another attempt.
fn judge_state_error(function: &str, version: &str, error: &AwsError) -> Judgement {
    if error.code().is_some_and(is_access_denied) {
        return Judgement::error_for_good(
            Cause::NotPermitted,
            format!("{function}:{version} is not ready and its state cannot be read: {error}"),
        );
    }
    Judgement::error(format!(
        "{function}:{version} is not ready and its state cannot be read: {error}"
    ))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use crate::checks::expected_status::ExpectedStatus;
    use crate::checks::judge::Outcome;
    use crate::checks::terms::Patience;

    /// An HTTP/1.1 server on `ip`:`port` that keeps connections alive and answers every request
    /// 200 with the body `name`.
    async fn server(ip: &str, port: u16, name: &'static str) -> u16 {
        let listener = tokio::net::TcpListener::bind((ip, port)).await.expect("bind");
        let port = listener.local_addr().expect("an address").port();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buffer = vec![0; 4096];
                    while let Ok(read) = stream.read(&mut buffer).await {
                        if read == 0 {
                            break;
                        }
                        let answer = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{name}", name.len());
                        if stream.write_all(answer.as_bytes()).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        port
    }

    fn check(url: &str, connect_to: Option<&str>, body: &str) -> Check {
        Check {
            request: Request::Http {
                url: reqwest::Url::parse(url).unwrap(),
                method: reqwest::Method::GET,
                headers: Vec::new(),
                connect_to: connect_to.map(str::to_string),
            },
            expect: Arc::new(Expectations {
                status: ExpectedStatus::default(),
                assertions: vec![crate::checks::assertions::Assertion::BodyContains(body.into())],
            }),
            patience: Patience {
                attempts: 1,
                interval: Duration::ZERO,
                timeout: Duration::from_secs(5),
            },
        }
    }

    #[tokio::test]
    async fn a_routed_host_reaches_its_own_listener_and_routes_nothing_else() {
        // Two listeners serving the same host name on the same port, at two loopback addresses.
        let port = server("127.0.0.1", 0, "blue-listener").await;
        server("127.0.0.2", port, "green-listener").await;
        let config = crate::ecs_hook::config_from(&[]);
        let lambda = crate::plumbing::aws::canned::lambda(&[]);
        let probe = Probe::new(&config, lambda).unwrap();
        let url = format!("http://shop.invalid:{port}/health");

        let first = probe.attempt(&check(&url, Some("127.0.0.1"), "blue-listener")).await;
        assert_eq!(first.outcome(), Outcome::Pass, "{:?}", first.failure());
        // A kept-alive connection to the first listener must not carry the second's request.
        let second = probe.attempt(&check(&url, Some("127.0.0.2"), "green-listener")).await;
        assert_eq!(second.outcome(), Outcome::Pass, "{:?}", second.failure());
        // Without a route the name is resolved as it is: `.invalid` never resolves.
        let plain = probe.attempt(&check(&url, None, "blue-listener")).await;
        assert_eq!(plain.outcome(), Outcome::Error, "{:?}", plain.failure());
    }

    mod pending_versions {
        //! A newly published version may be `Pending` (SnapStart, Lambda Managed Instances): Lambda
        //! refuses Invoke with 409 until it is `Active`. Waited for on the paused clock.
        use super::*;
        use crate::checks::CheckResult;
        use crate::checks::runner::{NOT_READY_POLL, run_with_probe};
        use crate::checks::verdict::Verdict;
        use crate::plumbing::aws::canned;
        use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
        use aws_sdk_lambda::operation::invoke::InvokeOutput;
        use aws_sdk_lambda::types::{State, StateReasonCode};
        use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};

        const VERSION: &str = "$LATEST.PUBLISHED";

        fn lambda_check() -> Check {
            Check {
                request: Request::Lambda {
                    function: "my-api".into(),
                    version: VERSION.into(),
                    path: None,
                    format: None,
                    payload: serde_json::json!({"ping": true}),
                },
                expect: Arc::new(Expectations {
                    status: ExpectedStatus::default(),
                    assertions: Vec::new(),
                }),
                patience: Patience {
                    attempts: 2,
                    interval: Duration::from_millis(100),
                    timeout: Duration::from_secs(5),
                },
            }
        }

        /// Invoke refused `refusals` times as Lambda refuses a version that is not ready, then
        /// answered.
        fn invoke_refused(refusals: usize) -> Rule {
            let mut rule = mock!(aws_sdk_lambda::Client::invoke)
                .match_requests(|request| request.qualifier() == Some(VERSION))
                .sequence();
            for _ in 0..refusals {
                rule = rule.http_response(|| {
                    canned::rest_error(
                        409,
                        "ResourceConflictException",
                        "The operation cannot be performed at this time. The function is currently in the following \
                         state: Pending",
                    )
                });
            }
            rule.output(|| {
                InvokeOutput::builder()
                    .status_code(200)
                    .payload(Blob::new("{}"))
                    .build()
            })
            .repeatedly()
            .build()
        }

        fn configuration(state: State, code: StateReasonCode) -> GetFunctionConfigurationOutput {
            GetFunctionConfigurationOutput::builder()
                .state(state)
                .state_reason_code(code)
                .state_reason("Lambda is taking the version's snapshot")
                .build()
        }

        /// GetFunctionConfiguration: `Pending` `pending` times, then `last`.
        fn states(pending: usize, last: State, code: StateReasonCode) -> Rule {
            let mut rule = mock!(aws_sdk_lambda::Client::get_function_configuration)
                .match_requests(|request| request.qualifier() == Some(VERSION))
                .sequence();
            for _ in 0..pending {
                rule = rule.output(|| configuration(State::Pending, StateReasonCode::Creating));
            }
            let code = code.clone();
            rule.output(move || configuration(last.clone(), code.clone()))
                .repeatedly()
                .build()
        }

        async fn run(rules: &[&Rule], budget: Duration) -> (CheckResult, Verdict) {
            let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, rules);
            let config = crate::checks::config::Config::from_lookup(&|_| None).unwrap();
            let probe = Arc::new(Probe::new(&config, lambda).unwrap());
            let results = run_with_probe(probe, vec![lambda_check()], 1, Instant::now() + budget).await;
            let verdict = Verdict::from_results(&results, 0);
            (results.into_iter().next().unwrap(), verdict)
        }

        #[tokio::test(start_paused = true)]
        async fn a_pending_version_is_waited_for_without_spending_attempts_then_checked() {
            let (invoke, state) = (invoke_refused(3), states(3, State::Active, StateReasonCode::Idle));
            let (result, verdict) = run(&[&invoke, &state], Duration::from_secs(60)).await;
            assert!(result.passed(), "{result:?}");
            assert_eq!(result.attempts(), 1, "the refusals while Pending are not attempts");
            assert_eq!(result.waited, NOT_READY_POLL * 3);
            assert_eq!((invoke.num_calls(), state.num_calls()), (4, 3));
            let summary = crate::checks::describe::describe_checks(std::slice::from_ref(&result));
            assert!(summary.contains("after waiting 15 s for it to be ready"), "{summary}");
            assert_eq!(verdict.cause, crate::checks::verdict::Cause::Passed);
        }

        #[tokio::test(start_paused = true)]
        async fn a_version_that_becomes_failed_fails_the_release_with_its_reason_code() {
            let (invoke, state) = (
                invoke_refused(5),
                states(1, State::Failed, StateReasonCode::InvalidConfiguration),
            );
            let (result, verdict) = run(&[&invoke, &state], Duration::from_secs(60)).await;
            let failure = result.failure.clone().unwrap_or_default();
            assert!(
                failure.contains("failed to become Active (InvalidConfiguration"),
                "{failure}"
            );
            assert_eq!(invoke.num_calls(), 2, "a failed version is not tried again");
            assert_eq!(verdict.cause, crate::checks::verdict::Cause::ReleaseFailed);
        }

        #[tokio::test(start_paused = true)]
        async fn a_version_still_pending_at_the_deadline_is_out_of_time_not_a_failed_release() {
            let (invoke, state) = (
                invoke_refused(100),
                states(100, State::Pending, StateReasonCode::Creating),
            );
            let started = Instant::now();
            let (result, verdict) = run(&[&invoke, &state], Duration::from_secs(20)).await;
            assert!(started.elapsed() <= Duration::from_secs(20), "stopped at the deadline");
            let failure = result.failure.clone().unwrap_or_default();
            assert!(failure.contains("is Pending (Creating"), "{failure}");
            assert!(failure.contains("still not ready at the deadline"), "{failure}");
            assert_eq!(result.attempts(), 0);
            assert_eq!(verdict.cause, crate::checks::verdict::Cause::OutOfTime);
        }
    }
}
