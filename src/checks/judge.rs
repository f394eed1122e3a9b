//! Deciding whether one answer passes: pure functions over what came back, no I/O.

use serde_json::Value;

use super::config::EventFormat;
use super::expected_status::ExpectedStatus;
use crate::plumbing::text::truncate;

/// One attempt's result: the status seen (if any), when it failed why, and whether another
/// attempt could turn out differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub status: Option<u16>,
    pub failure: Option<String>,
    /// False for a failure no attempt can change (a denied or missing function): the runner then
    /// stops, rather than spending the deployment's time on the same answer.
    pub worth_retrying: bool,
}

impl Judgement {
    pub fn pass(status: Option<u16>) -> Judgement {
        Judgement {
            status,
            failure: None,
            worth_retrying: false,
        }
    }

    /// A failure another attempt may not repeat: a 5xx, a timeout, a version still warming up.
    pub fn fail(status: Option<u16>, reason: impl Into<String>) -> Judgement {
        Judgement {
            status,
            failure: Some(reason.into()),
            worth_retrying: true,
        }
    }

    /// A failure every attempt would repeat.
    pub fn fail_for_good(status: Option<u16>, reason: impl Into<String>) -> Judgement {
        Judgement {
            worth_retrying: false,
            ..Judgement::fail(status, reason)
        }
    }

    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// Judges a Lambda invocation. `format` is `None` for raw payloads, where only a function error fails.
pub fn judge_invocation(
    function_error: Option<&str>,
    payload: &[u8],
    format: Option<EventFormat>,
    expected: &ExpectedStatus,
) -> Judgement {
    if let Some(kind) = function_error {
        return Judgement::fail(None, format!("function error ({kind}): {}", describe_error(payload)));
    }
    let Some(format) = format else {
        return Judgement::pass(None);
    };
    match response_status(payload, format) {
        Ok(status) if expected.contains(status) => Judgement::pass(Some(status)),
        Ok(status) => Judgement::fail(
            Some(status),
            format!("status {status}, expected {expected}; body: {}", response_body(payload)),
        ),
        Err(reason) => Judgement::fail(None, reason),
    }
}

/// Judges the status of a plain HTTP check.
pub fn judge_http_status(status: u16, expected: &ExpectedStatus, body: &str) -> Judgement {
    if expected.contains(status) {
        Judgement::pass(Some(status))
    } else {
        Judgement::fail(
            Some(status),
            format!("status {status}, expected {expected}; body: {}", truncate(body)),
        )
    }
}

/// The status the event source would answer with. API Gateway HTTP APIs treat a response without
/// `statusCode` as a 200 whose body is the whole response; REST APIs and ALB answer 502 instead.
fn response_status(payload: &[u8], format: EventFormat) -> Result<u16, String> {
    let response: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
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

fn response_body(payload: &[u8]) -> String {
    let response: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    match response.get("body") {
        Some(Value::String(body)) => truncate(body),
        Some(other) => truncate(&other.to_string()),
        None => String::new(),
    }
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

    fn ok() -> ExpectedStatus {
        ExpectedStatus::default()
    }

    #[test]
    fn status_within_the_expected_set_passes() {
        let judgement = judge_invocation(None, br#"{"statusCode": 204}"#, Some(EventFormat::ApiGatewayV1), &ok());
        assert_eq!(judgement, Judgement::pass(Some(204)));
    }

    #[test]
    fn server_error_fails_with_status_and_body() {
        let judgement = judge_invocation(
            None,
            br#"{"statusCode": 500, "body": "database unreachable"}"#,
            Some(EventFormat::Alb),
            &ok(),
        );
        assert_eq!(judgement.status, Some(500));
        let reason = judgement.failure.unwrap();
        assert!(
            reason.contains("status 500, expected 200-399") && reason.contains("database unreachable"),
            "{reason}"
        );
    }

    #[test]
    fn string_status_codes_count() {
        let judgement = judge_invocation(
            None,
            br#"{"statusCode": "503"}"#,
            Some(EventFormat::ApiGatewayV1),
            &ok(),
        );
        assert_eq!(judgement.status, Some(503));
        assert!(!judgement.passed());
    }

    #[test]
    fn function_error_fails_even_with_a_good_status() {
        let judgement = judge_invocation(
            Some("Unhandled"),
            br#"{"errorType": "Panic", "errorMessage": "boom", "statusCode": 200}"#,
            Some(EventFormat::ApiGatewayV1),
            &ok(),
        );
        assert_eq!(
            judgement.failure.as_deref(),
            Some("function error (Unhandled): Panic: boom")
        );
    }

    #[test]
    fn missing_status_code_is_200_only_for_http_apis() {
        let body = br#"{"hello": "world"}"#;
        assert!(judge_invocation(None, body, Some(EventFormat::ApiGatewayV2), &ok()).passed());
        assert!(judge_invocation(None, b"\"plain\"", Some(EventFormat::ApiGatewayV2), &ok()).passed());
        let rest = judge_invocation(None, body, Some(EventFormat::ApiGatewayV1), &ok());
        assert!(rest.failure.unwrap().contains("no statusCode"));
        assert!(!judge_invocation(None, body, Some(EventFormat::Alb), &ok()).passed());
    }

    #[test]
    fn raw_payload_checks_pass_on_any_answer_without_function_error() {
        assert!(judge_invocation(None, b"null", None, &ok()).passed());
        assert!(!judge_invocation(Some("Unhandled"), b"{}", None, &ok()).passed());
    }

    #[test]
    fn nonsense_status_codes_fail() {
        for payload in [
            &br#"{"statusCode": -1}"#[..],
            br#"{"statusCode": 70000}"#,
            br#"{"statusCode": [200]}"#,
            br#"{"statusCode": "ok"}"#,
        ] {
            assert!(!judge_invocation(None, payload, Some(EventFormat::ApiGatewayV1), &ok()).passed());
        }
    }

    #[test]
    fn http_status_outside_the_set_fails() {
        assert!(judge_http_status(302, &ok(), "").passed());
        let judgement = judge_http_status(404, &ok(), "not found");
        assert_eq!(
            judgement.failure.as_deref(),
            Some("status 404, expected 200-399; body: not found")
        );
    }
}
