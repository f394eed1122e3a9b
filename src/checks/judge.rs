//! Deciding whether one answer passes: pure functions over what came back, no I/O. Each
//! answer shape (an API Gateway or ALB response from a function, the JSON a raw invocation
//! returned, an HTTP response) becomes one [`Answer`], judged by its [`Expectations`].

use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use super::assertions::{Answer, Expectations};
use super::config::EventFormat;
use super::verdict::Cause;
use crate::plumbing::text::truncate;

/// What one attempt was: a pass, a failure (an answer that breaks an expectation), or an error
/// (no answer to judge: an AWS error on Invoke, a refused or reset connection, a timeout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Failure,
    Error,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Failure => "failure",
            Outcome::Error => "error",
        }
    }
}

/// One attempt's result. A pass carries nothing to explain; a failure or an error always says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    Pass {
        status: Option<u16>,
    },
    /// An answer that broke an expectation; another attempt may not repeat it (a 5xx, a version
    /// still warming up).
    Failure {
        status: Option<u16>,
        reason: String,
    },
    /// No answer to judge. `for_good` is set when every attempt would end the same (a denied or
    /// missing function), with the verdict's cause: the runner then stops, rather than spending
    /// the deployment's time on the same answer.
    Error {
        reason: String,
        for_good: Option<Cause>,
    },
    /// The target cannot be tried yet (a Lambda version still `Pending`): wait, without spending
    /// an attempt, until it can or the deadline comes.
    NotReady {
        reason: String,
    },
}

impl Judgement {
    pub fn pass(status: Option<u16>) -> Judgement {
        Judgement::Pass { status }
    }

    pub fn fail(status: Option<u16>, reason: impl Into<String>) -> Judgement {
        Judgement::Failure {
            status,
            reason: reason.into(),
        }
    }

    /// No answer to judge, but another attempt may get one (throttling, a reset, a timeout).
    pub fn error(reason: impl Into<String>) -> Judgement {
        Judgement::Error {
            reason: reason.into(),
            for_good: None,
        }
    }

    /// No answer to judge, and every attempt would end the same, for `cause` (access denied: a
    /// missing permission; no such version: something named does not exist).
    pub fn error_for_good(cause: Cause, reason: impl Into<String>) -> Judgement {
        Judgement::Error {
            reason: reason.into(),
            for_good: Some(cause),
        }
    }

    pub fn outcome(&self) -> Outcome {
        match self {
            Judgement::Pass { .. } => Outcome::Pass,
            Judgement::Failure { .. } => Outcome::Failure,
            Judgement::Error { .. } | Judgement::NotReady { .. } => Outcome::Error,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            Judgement::Pass { status } | Judgement::Failure { status, .. } => *status,
            Judgement::Error { .. } | Judgement::NotReady { .. } => None,
        }
    }

    /// Why it did not pass; `None` for a pass.
    pub fn failure(&self) -> Option<&str> {
        match self {
            Judgement::Pass { .. } => None,
            Judgement::Failure { reason, .. } | Judgement::Error { reason, .. } | Judgement::NotReady { reason } => {
                Some(reason)
            }
        }
    }

    /// The cause of an answer no attempt can change.
    pub fn refused(&self) -> Option<Cause> {
        match self {
            Judgement::Error { for_good, .. } => *for_good,
            _ => None,
        }
    }

    pub fn worth_retrying(&self) -> bool {
        match self {
            Judgement::Pass { .. } => false,
            Judgement::Failure { .. } | Judgement::NotReady { .. } => true,
            Judgement::Error { for_good, .. } => for_good.is_none(),
        }
    }

    pub fn passed(&self) -> bool {
        matches!(self, Judgement::Pass { .. })
    }

    /// The same judgement, its reason followed by `note`.
    pub fn noted(self, note: &str) -> Judgement {
        match self {
            Judgement::Failure { status, reason } => Judgement::Failure {
                status,
                reason: format!("{reason} {note}"),
            },
            Judgement::Error { reason, for_good } => Judgement::Error {
                reason: format!("{reason} {note}"),
                for_good,
            },
            Judgement::NotReady { reason } => Judgement::NotReady {
                reason: format!("{reason} {note}"),
            },
            pass => pass,
        }
    }

    fn from_breaches(status: Option<u16>, breaches: Vec<String>) -> Judgement {
        if breaches.is_empty() {
            Judgement::pass(status)
        } else {
            Judgement::fail(status, breaches.join("; "))
        }
    }
}

/// Judges a Lambda invocation. `format` is `None` for raw payloads, whose returned JSON is the
/// answer; otherwise the function's HTTP response in that event source's shape is.
pub(crate) fn judge_invocation(
    function_error: Option<&str>,
    payload: &[u8],
    format: Option<EventFormat>,
    expect: &Expectations,
    latency: Duration,
) -> Judgement {
    if let Some(kind) = function_error {
        return Judgement::fail(None, format!("function error ({kind}): {}", describe_error(payload)));
    }
    let answer = match format {
        None => Ok(Answer {
            status: None,
            headers: Vec::new(),
            body: String::from_utf8_lossy(payload).into_owned(),
            latency,
        }),
        Some(format) => http_answer(payload, format, latency),
    };
    match answer {
        Ok(answer) => Judgement::from_breaches(answer.status, expect.breaches(&answer)),
        Err((status, reason)) => Judgement::fail(status, reason),
    }
}

/// Judges the answer to a plain HTTP check. `headers` names are in lower case.
pub(crate) fn judge_http(
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    expect: &Expectations,
    latency: Duration,
) -> Judgement {
    let answer = Answer {
        status: Some(status),
        headers,
        body,
        latency,
    };
    Judgement::from_breaches(Some(status), expect.breaches(&answer))
}

/// The HTTP answer the event source would give for this function response.
fn http_answer(payload: &[u8], format: EventFormat, latency: Duration) -> Result<Answer, (Option<u16>, String)> {
    let response: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    let status = response_status(&response, payload, format).map_err(|why| (None, why))?;
    // An HTTP API answers a response without statusCode with that response as a JSON body.
    if format == EventFormat::ApiGatewayV2 && response.get("statusCode").is_none() {
        return Ok(Answer {
            status: Some(status),
            headers: vec![("content-type".into(), "application/json".into())],
            body: String::from_utf8_lossy(payload).into_owned(),
            latency,
        });
    }
    Ok(Answer {
        status: Some(status),
        headers: response_headers(&response),
        body: response_body(&response).map_err(|why| (Some(status), why))?,
        latency,
    })
}

/// The status the event source would answer with. API Gateway HTTP APIs treat a response without
/// `statusCode` as a 200 whose body is the whole response; REST APIs and ALB answer 502 instead.
fn response_status(response: &Value, payload: &[u8], format: EventFormat) -> Result<u16, String> {
    let status = response.get("statusCode");
    match (status, format) {
        (None, EventFormat::ApiGatewayV2) => Ok(200),
        (None, _) => Err(format!(
            "the response has no statusCode, so {} would answer 502; response: {}",
            if format == EventFormat::Alb {
                "the ALB"
            } else {
                "API Gateway"
            },
            truncate(&String::from_utf8_lossy(payload))
        )),
        (Some(Value::Number(n)), _) => n
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(|| format!("statusCode {n} is not an HTTP status")),
        (Some(Value::String(text)), _) => text
            .trim()
            .parse::<u16>()
            .map_err(|_| format!("statusCode `{}` is not an HTTP status", truncate(text))),
        (Some(other), _) => Err(format!(
            "statusCode {} is not an HTTP status",
            truncate(&other.to_string())
        )),
    }
}

/// `headers` and `multiValueHeaders`, names in lower case (HTTP names are case-insensitive).
fn response_headers(response: &Value) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    let text = |value: &Value| match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    if let Some(Value::Object(single)) = response.get("headers") {
        for (name, value) in single {
            headers.push((name.to_ascii_lowercase(), text(value)));
        }
    }
    if let Some(Value::Object(multi)) = response.get("multiValueHeaders") {
        for (name, values) in multi {
            let values = match values {
                Value::Array(values) => values.iter().map(text).collect(),
                other => vec![text(other)],
            };
            for value in values {
                headers.push((name.to_ascii_lowercase(), value));
            }
        }
    }
    headers
}

/// The body as the client would see it: decoded when `isBase64Encoded` is true.
fn response_body(response: &Value) -> Result<String, String> {
    let body = match response.get("body") {
        Some(Value::String(body)) => body.clone(),
        None | Some(Value::Null) => String::new(),
        Some(other) => other.to_string(),
    };
    if response.get("isBase64Encoded") != Some(&Value::Bool(true)) {
        return Ok(body);
    }
    base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .map_err(|_| {
            format!(
                "the response says isBase64Encoded but its body is not base64: {}",
                truncate(&body)
            )
        })
}

/// `errorType: errorMessage` from Lambda's error document, or the raw text.
fn describe_error(payload: &[u8]) -> String {
    let error: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    match (
        error.get("errorType").and_then(Value::as_str),
        error.get("errorMessage").and_then(Value::as_str),
    ) {
        (Some(kind), Some(message)) => truncate(&format!("{kind}: {message}")),
        (None, Some(message)) => truncate(message),
        _ => truncate(&String::from_utf8_lossy(payload)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::assertions::{Assertion, Query};
    use crate::checks::expected_status::ExpectedStatus;
    use serde_json::json;

    const FAST: Duration = Duration::from_millis(5);

    fn ok() -> Expectations {
        Expectations::status_only(ExpectedStatus::default())
    }

    fn status_ok_is(expected: &str) -> Expectations {
        Expectations {
            status: ExpectedStatus::default(),
            assertions: vec![Assertion::Json {
                path: Query::new("$.status").unwrap(),
                expected: json!(expected),
            }],
        }
    }

    fn judge(payload: &[u8], format: EventFormat, expect: &Expectations) -> Judgement {
        judge_invocation(None, payload, Some(format), expect, FAST)
    }

    #[test]
    fn status_within_the_expected_set_passes() {
        let judgement = judge(br#"{"statusCode": 204}"#, EventFormat::ApiGatewayV1, &ok());
        assert_eq!(judgement, Judgement::pass(Some(204)));
    }

    #[test]
    fn server_error_fails_with_status_and_body() {
        let judgement = judge(
            br#"{"statusCode": 500, "body": "database unreachable"}"#,
            EventFormat::Alb,
            &ok(),
        );
        assert_eq!(judgement.status(), Some(500));
        assert_eq!(judgement.outcome(), Outcome::Failure);
        let reason = judgement.failure().unwrap();
        assert!(
            reason.contains("status 500, expected 200-399") && reason.contains("database unreachable"),
            "{reason}"
        );
    }

    #[test]
    fn string_status_codes_count() {
        let judgement = judge(br#"{"statusCode": "503"}"#, EventFormat::ApiGatewayV1, &ok());
        assert_eq!(judgement.status(), Some(503));
        assert!(!judgement.passed());
    }

    #[test]
    fn function_error_fails_even_with_a_good_status() {
        let judgement = judge_invocation(
            Some("Unhandled"),
            br#"{"errorType": "Panic", "errorMessage": "boom", "statusCode": 200}"#,
            Some(EventFormat::ApiGatewayV1),
            &ok(),
            FAST,
        );
        assert_eq!(judgement.failure(), Some("function error (Unhandled): Panic: boom"));
    }

    #[test]
    fn missing_status_code_is_200_only_for_http_apis() {
        let body = br#"{"hello": "world"}"#;
        assert!(judge(body, EventFormat::ApiGatewayV2, &ok()).passed());
        assert!(judge(b"\"plain\"", EventFormat::ApiGatewayV2, &ok()).passed());
        let rest = judge(body, EventFormat::ApiGatewayV1, &ok());
        assert!(rest.failure().unwrap().contains("no statusCode"));
        assert!(!judge(body, EventFormat::Alb, &ok()).passed());
    }

    #[test]
    fn raw_payload_checks_pass_on_any_answer_without_function_error_or_assertion() {
        assert!(judge_invocation(None, b"null", None, &ok(), FAST).passed());
        assert!(!judge_invocation(Some("Unhandled"), b"{}", None, &ok(), FAST).passed());
    }

    #[test]
    fn raw_payload_assertions_read_the_returned_json() {
        let expect = status_ok_is("ok");
        assert!(judge_invocation(None, br#"{"status": "ok"}"#, None, &expect, FAST).passed());
        let judgement = judge_invocation(None, br#"{"status": "late"}"#, None, &expect, FAST);
        assert_eq!(judgement.status(), None);
        assert_eq!(judgement.failure(), Some(r#"$.status is "late", expected "ok""#));
    }

    #[test]
    fn assertions_read_the_body_of_each_event_source_shape() {
        let expect = status_ok_is("ok");
        let body = r#"{\"status\": \"degraded\"}"#;
        for format in [EventFormat::ApiGatewayV1, EventFormat::ApiGatewayV2, EventFormat::Alb] {
            let response = format!(r#"{{"statusCode": 200, "body": "{body}"}}"#);
            let judgement = judge(response.as_bytes(), format, &expect);
            assert_eq!(
                judgement.failure(),
                Some(r#"$.status is "degraded", expected "ok""#),
                "{format:?}"
            );
            assert_eq!(judgement.status(), Some(200));
        }
        // An HTTP API's bare response is its own JSON body.
        assert!(judge(br#"{"status": "ok"}"#, EventFormat::ApiGatewayV2, &expect).passed());
    }

    #[test]
    fn base64_bodies_are_decoded_before_the_assertions() {
        let expect = status_ok_is("ok");
        // {"status":"ok"}
        let encoded = br#"{"statusCode": 200, "isBase64Encoded": true, "body": "eyJzdGF0dXMiOiJvayJ9"}"#;
        assert!(judge(encoded, EventFormat::Alb, &expect).passed());
        let broken = br#"{"statusCode": 200, "isBase64Encoded": true, "body": "not base64!"}"#;
        assert!(
            judge(broken, EventFormat::Alb, &expect)
                .failure()
                .unwrap()
                .contains("not base64")
        );
    }

    #[test]
    fn header_assertions_see_single_and_multi_value_headers() {
        let expect = Expectations {
            status: ExpectedStatus::default(),
            assertions: vec![Assertion::Header {
                name: "x-version".into(),
                value: "2".into(),
            }],
        };
        let single = br#"{"statusCode": 200, "headers": {"X-Version": "2"}}"#;
        assert!(judge(single, EventFormat::ApiGatewayV1, &expect).passed());
        let multi = br#"{"statusCode": 200, "multiValueHeaders": {"X-VERSION": ["1", "2"]}}"#;
        assert!(judge(multi, EventFormat::Alb, &expect).passed());
        let other = br#"{"statusCode": 200, "headers": {"x-version": "1"}}"#;
        assert!(!judge(other, EventFormat::ApiGatewayV2, &expect).passed());
    }

    #[test]
    fn latency_assertions_use_the_measured_time() {
        let expect = Expectations {
            status: ExpectedStatus::default(),
            assertions: vec![Assertion::MaxLatency(Duration::from_millis(800))],
        };
        let slow = judge_invocation(
            None,
            br#"{"statusCode": 200}"#,
            Some(EventFormat::Alb),
            &expect,
            Duration::from_millis(1240),
        );
        assert_eq!(slow.failure(), Some("latency 1240 ms > 800 ms"));
    }

    #[test]
    fn nonsense_status_codes_fail() {
        for payload in [
            &br#"{"statusCode": -1}"#[..],
            br#"{"statusCode": 70000}"#,
            br#"{"statusCode": [200]}"#,
            br#"{"statusCode": "ok"}"#,
        ] {
            assert!(!judge(payload, EventFormat::ApiGatewayV1, &ok()).passed());
        }
    }

    #[test]
    fn http_answers_are_judged_on_status_and_assertions() {
        assert!(judge_http(302, Vec::new(), String::new(), &ok(), FAST).passed());
        let judgement = judge_http(404, Vec::new(), "not found".into(), &ok(), FAST);
        assert_eq!(
            judgement.failure(),
            Some("status 404, expected 200-399; body: not found")
        );
        let degraded = judge_http(
            200,
            Vec::new(),
            r#"{"status":"degraded"}"#.into(),
            &status_ok_is("ok"),
            FAST,
        );
        assert_eq!(degraded.outcome(), Outcome::Failure);
        assert_eq!(degraded.status(), Some(200));
    }

    #[test]
    fn errors_are_not_failures() {
        assert_eq!(Judgement::error("reset").outcome(), Outcome::Error);
        assert!(Judgement::error("reset").worth_retrying());
        assert!(!Judgement::error_for_good(Cause::NotPermitted, "denied").worth_retrying());
        assert_eq!(Judgement::fail(Some(500), "x").outcome(), Outcome::Failure);
    }
}
