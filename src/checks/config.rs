//! The check settings: the environment variables that say what to poke, how, and how patiently.
//!
//! Read once at start-up by [`Config::from_lookup`], a pure function over a lookup so that tests
//! never touch the process environment. A bad value becomes a [`ConfigError`] naming the
//! variable; the flow keeps running and fails every verdict with that reason, so a typo can never
//! turn into a silent pass. (`tests/docs.rs` records the names this module asks for and checks
//! that `docs/checks.md`, `docs/maintenance.md` and the template cover each one.)

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_lambda_events::http::{HeaderName, HeaderValue, Method};
use reqwest::Url;

use super::assertions::Expectations;
use super::definitions::document::{self, Inherited};
use super::definitions::{CheckDefinition, Definitions, HttpRequest, Source, TargetPlan, ToSend};
use super::expected_status::ExpectedStatus;
use super::skip::SkipUntil;
pub use super::terms::{EventFormat, Patience};
use super::terms::{header_pair, method_named, parse_event_format_name};
use crate::plumbing::env::{
    ConfigError, Lookup, boolean, invalid, invalid_at, millis, names_asked_by, non_empty, number,
};

/// What to poke: the load balancer's test listener, or the new Lambda version directly.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// HTTP requests to `ALB_URL` + each path.
    Http { base_url: Url },
    /// Invoke each function of the AppSpec at its `TargetVersion`.
    Lambda(LambdaPayload),
}

/// The payload a Lambda check sends.
#[derive(Debug, Clone, PartialEq)]
pub enum LambdaPayload {
    /// A synthetic HTTP request, one per path, in the shape of this event source.
    Http(EventFormat),
    /// A fixed JSON document, for functions that are not web handlers.
    Raw(serde_json::Value),
}

/// The request every check sends (paths, method, headers, body).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestSpec {
    /// Each path may carry its own query string (`/healthcheck?deep=1`).
    pub paths: Vec<String>,
    pub method: Method,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub mode: Mode,
    pub request: RequestSpec,
    pub expected: ExpectedStatus,
    pub patience: Patience,
    /// How many attempts may be in flight at once, over all checks.
    pub concurrency: usize,
    /// Kept free before the Lambda deadline so that the report always goes out.
    pub deadline_margin: Duration,
    /// What a target no entry of `PREFLIGHT_CHECKS` selects gets: the `CHECK_*` checks.
    pub defaults: TargetPlan,
    /// `PREFLIGHT_CHECKS` or `PREFLIGHT_CHECKS_FILE`, when set.
    pub definitions: Option<Definitions>,
    /// `PREFLIGHT_SKIP_UNTIL`, when set.
    pub skip_until: Option<SkipUntil>,
    /// `CHECK_TLS_VERIFY`: whether HTTPS checks (to `ALB_URL` or a discovered test listener)
    /// verify the certificate.
    pub verify_tls: bool,
    /// What a check definition given elsewhere (an ECS hook's `hookDetails.preflight`) takes
    /// for the keys it leaves out.
    pub inherited: Inherited,
}

impl Config {
    /// Every variable the check settings read (recorded, see [`names_asked_by`]).
    pub fn variables() -> BTreeSet<String> {
        // Without ALB_URL the Lambda branch is read; with it, the HTTP branch.
        names_asked_by(
            |get| {
                let _ = Config::from_lookup(get);
            },
            &[&[], &[("ALB_URL", "test-alb:8080")]],
        )
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(&crate::plumbing::env::process_env)
    }

    /// Builds the configuration from `lookup(name)`; empty values count as unset.
    pub fn from_lookup(lookup: &Lookup) -> Result<Config, ConfigError> {
        Config::from_lookup_at(lookup, SystemTime::now())
    }

    /// [`Config::from_lookup`] at `now` (which bounds `PREFLIGHT_SKIP_UNTIL`).
    pub fn from_lookup_at(lookup: &Lookup, now: SystemTime) -> Result<Config, ConfigError> {
        let get = non_empty(lookup);
        let mode = parse_mode(&get)?;
        let request = parse_request(&get, &mode)?;
        let expected = match get("EXPECTED_STATUS") {
            Some(text) => {
                ExpectedStatus::parse(&text).map_err(|why| invalid("EXPECTED_STATUS", format!("is `{text}`: {why}")))?
            }
            None => ExpectedStatus::default(),
        };
        let default_timeout = match mode {
            Mode::Http { .. } => 2_000,
            Mode::Lambda(_) => 10_000,
        };
        let patience = Patience {
            attempts: number(&get, "CHECK_ATTEMPTS", 3, 1, 20)? as u32,
            interval: millis(&get, "CHECK_INTERVAL_MS", 1_000, 0, 60_000)?,
            timeout: millis(&get, "CHECK_TIMEOUT_MS", default_timeout, 1, 900_000)?,
        };
        let concurrency = number(&get, "CHECK_CONCURRENCY", 128, 1, 4_096)? as usize;
        let verify_tls = boolean(&get, "CHECK_TLS_VERIFY", true)?;
        let deadline_margin = millis(&get, "DEADLINE_MARGIN_MS", 3_000, 0, 600_000)?;
        let defaults = default_plan(&mode, &request, &expected, patience);
        let inherited = Inherited {
            method: request.method.clone(),
            headers: request.headers.clone(),
            body: request.body.clone(),
            format: match &mode {
                Mode::Lambda(LambdaPayload::Http(format)) => *format,
                // A raw CHECK_PAYLOAD leaves EVENT_FORMAT unset: its default.
                _ => EventFormat::ApiGatewayV1,
            },
            expected: expected.clone(),
            patience,
            http_mode: matches!(mode, Mode::Http { .. }),
        };
        let definitions = read_definitions(&get, &inherited)?;
        let skip_until = match get("PREFLIGHT_SKIP_UNTIL") {
            Some(text) => Some(SkipUntil::parse(&text, now).map_err(|why| invalid("PREFLIGHT_SKIP_UNTIL", why))?),
            None => None,
        };
        Ok(Config {
            mode,
            request,
            expected,
            patience,
            concurrency,
            deadline_margin,
            defaults,
            definitions,
            skip_until,
            verify_tls,
            inherited,
        })
    }
}

/// The `CHECK_*` checks as a plan: one HTTP check per path, or the raw payload.
fn default_plan(mode: &Mode, request: &RequestSpec, expected: &ExpectedStatus, patience: Patience) -> TargetPlan {
    let expect = Arc::new(Expectations::status_only(expected.clone()));
    let checks = match mode {
        Mode::Lambda(LambdaPayload::Raw(payload)) => vec![CheckDefinition {
            send: ToSend::Raw(payload.clone()),
            expect,
        }],
        Mode::Lambda(LambdaPayload::Http(format)) => http_definitions(request, *format, &expect),
        Mode::Http { .. } => http_definitions(request, EventFormat::ApiGatewayV1, &expect),
    };
    TargetPlan {
        source: Source::Defaults,
        skip: false,
        patience,
        checks,
        // Judging real traffic is asked for per target, in the check definitions.
        canary: None,
    }
}

fn http_definitions(request: &RequestSpec, format: EventFormat, expect: &Arc<Expectations>) -> Vec<CheckDefinition> {
    request
        .paths
        .iter()
        .map(|path| CheckDefinition {
            send: ToSend::Http(HttpRequest {
                path: path.clone(),
                method: request.method.clone(),
                headers: request.headers.clone(),
                body: request.body.clone(),
                format,
            }),
            expect: Arc::clone(expect),
        })
        .collect()
}

/// `PREFLIGHT_CHECKS`, or the file `PREFLIGHT_CHECKS_FILE` names (for documents larger than
/// Lambda's 4 KB of environment, shipped in the package or a layer).
fn read_definitions(get: &Lookup, inherited: &Inherited) -> Result<Option<Definitions>, ConfigError> {
    let (variable, text) = match (get("PREFLIGHT_CHECKS"), get("PREFLIGHT_CHECKS_FILE")) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err(invalid(
                "PREFLIGHT_CHECKS_FILE",
                "is set together with PREFLIGHT_CHECKS: set only one (the file for documents over 4 KB)",
            ));
        }
        (Some(text), None) => ("PREFLIGHT_CHECKS", text),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path.trim()).map_err(|error| {
                invalid(
                    "PREFLIGHT_CHECKS_FILE",
                    format!(
                        "is `{}`, which cannot be read ({error}): ship the file in the function's package or a \
                         layer (layers are under /opt) and give its absolute path",
                        path.trim()
                    ),
                )
            })?;
            ("PREFLIGHT_CHECKS_FILE", text)
        }
    };
    document::parse(&text, inherited)
        .map(Some)
        .map_err(|error| invalid_at(variable, error.place, error.problem))
}

fn parse_mode(get: &Lookup) -> Result<Mode, ConfigError> {
    if let Some(alb) = get("ALB_URL") {
        // A raw payload is for invoking a function; over HTTP it would be dropped without a word.
        if get("CHECK_PAYLOAD").is_some() {
            return Err(invalid(
                "CHECK_PAYLOAD",
                "is set together with ALB_URL, but HTTP checks send no payload: unset CHECK_PAYLOAD, or ALB_URL to invoke the function",
            ));
        }
        return Ok(Mode::Http {
            base_url: parse_base_url(alb.trim())?,
        });
    }
    let format = get("EVENT_FORMAT");
    match (get("CHECK_PAYLOAD"), format) {
        (Some(_), Some(_)) => Err(invalid(
            "CHECK_PAYLOAD",
            "is set together with EVENT_FORMAT: a raw payload replaces the HTTP event, so set only one",
        )),
        (Some(raw), None) => serde_json::from_str(&raw)
            .map(|value| Mode::Lambda(LambdaPayload::Raw(value)))
            .map_err(|error| invalid("CHECK_PAYLOAD", format!("is not valid JSON: {error}"))),
        (None, format) => Ok(Mode::Lambda(LambdaPayload::Http(parse_event_format(
            format.as_deref(),
        )?))),
    }
}

fn parse_event_format(text: Option<&str>) -> Result<EventFormat, ConfigError> {
    match text {
        None => Ok(EventFormat::ApiGatewayV1),
        Some(name) => parse_event_format_name(name).map_err(|why| invalid("EVENT_FORMAT", why)),
    }
}

/// `host[:port]` means plain HTTP (an ALB test listener usually is); a full URL is taken as is.
fn parse_base_url(text: &str) -> Result<Url, ConfigError> {
    let with_scheme = if text.contains("://") {
        text.to_string()
    } else {
        format!("http://{text}")
    };
    let url =
        Url::parse(&with_scheme).map_err(|error| invalid("ALB_URL", format!("is `{text}`, not a URL: {error}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(
            "ALB_URL",
            format!("is `{text}`: use host[:port] or an http:// or https:// URL"),
        ));
    }
    if url.query().is_some() {
        return Err(invalid("ALB_URL", "has a query string: put queries in CHECK_PATHS"));
    }
    Ok(url)
}

fn parse_request(get: &Lookup, mode: &Mode) -> Result<RequestSpec, ConfigError> {
    let paths = match get("CHECK_PATHS") {
        Some(text) => parse_paths(&text)?,
        None => vec!["/healthcheck".to_string()],
    };
    let method = parse_method(get("CHECK_METHOD").as_deref(), mode)?;
    let headers = match get("CHECK_HEADERS") {
        Some(text) => parse_headers(&text)?,
        None => Vec::new(),
    };
    let body = get("CHECK_BODY");
    if body.is_some() && matches!(mode, Mode::Http { .. }) {
        return Err(invalid(
            "CHECK_BODY",
            "is set, but HTTP checks (ALB_URL) send HEAD or GET without a body: unset it",
        ));
    }
    Ok(RequestSpec {
        paths,
        method,
        headers,
        body,
    })
}

fn parse_paths(text: &str) -> Result<Vec<String>, ConfigError> {
    let paths: Vec<String> = text
        .split(',')
        .map(str::trim)
        .filter(|path| !path.is_empty())
        .map(str::to_string)
        .collect();
    if let Some(bad) = paths
        .iter()
        .find(|path| !path.starts_with('/') || path.contains(char::is_whitespace))
    {
        return Err(invalid(
            "CHECK_PATHS",
            format!("has `{bad}`: each path starts with / and has no spaces (comma-separated)"),
        ));
    }
    if paths.is_empty() {
        return Err(invalid(
            "CHECK_PATHS",
            "names no path: give at least one, like /healthcheck",
        ));
    }
    Ok(paths)
}

fn parse_method(text: Option<&str>, mode: &Mode) -> Result<Method, ConfigError> {
    match text {
        None => Ok(Method::GET),
        Some(name) => method_named(name, matches!(mode, Mode::Http { .. })).map_err(|why| invalid("CHECK_METHOD", why)),
    }
}

/// A JSON object of header names to string values. Values are never echoed: they may be secrets.
fn parse_headers(text: &str) -> Result<Vec<(HeaderName, HeaderValue)>, ConfigError> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).map_err(|_| {
        invalid(
            "CHECK_HEADERS",
            r#"is not a JSON object of strings, like {"Host": "app.example.com"}"#,
        )
    })?;
    object
        .into_iter()
        .map(|(name, value)| {
            let text = value
                .as_str()
                .ok_or_else(|| invalid("CHECK_HEADERS", format!("gives `{name}` a value that is not a string")))?;
            header_pair(&name, text).map_err(|why| invalid("CHECK_HEADERS", why))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(&|name| env.get(name).cloned())
    }

    #[test]
    fn defaults_invoke_lambda_with_an_api_gateway_v1_healthcheck() {
        let config = config(&[]).unwrap();
        assert_eq!(
            config.mode,
            Mode::Lambda(LambdaPayload::Http(EventFormat::ApiGatewayV1))
        );
        assert_eq!(config.request.paths, vec!["/healthcheck"]);
        assert_eq!(config.request.method, Method::GET);
        assert_eq!(config.patience.attempts, 3);
        assert_eq!(config.patience.timeout, Duration::from_secs(10));
        assert!(config.expected.contains(200) && config.expected.contains(399) && !config.expected.contains(400));
    }

    #[test]
    fn bare_alb_host_means_plain_http_and_a_short_timeout() {
        let config = config(&[("ALB_URL", "internal-alb-123.eu-west-1.elb.amazonaws.com:8080")]).unwrap();
        assert!(config.verify_tls);
        match config.mode {
            Mode::Http { base_url } => {
                assert_eq!(
                    base_url.as_str(),
                    "http://internal-alb-123.eu-west-1.elb.amazonaws.com:8080/"
                );
            }
            other => panic!("expected HTTP mode, got {other:?}"),
        }
        assert_eq!(config.patience.timeout, Duration::from_secs(2));
    }

    #[test]
    fn full_alb_url_is_kept() {
        let config = config(&[
            ("ALB_URL", "https://test.example.com:8443/prefix"),
            ("CHECK_TLS_VERIFY", "false"),
        ])
        .unwrap();
        assert_eq!(
            config.mode,
            Mode::Http {
                base_url: Url::parse("https://test.example.com:8443/prefix").unwrap(),
            }
        );
        assert!(!config.verify_tls);
    }

    #[test]
    fn paths_are_comma_separated_and_trimmed() {
        let config = config(&[("CHECK_PATHS", " /healthcheck, /ready?deep=1 ,,")]).unwrap();
        assert_eq!(config.request.paths, vec!["/healthcheck", "/ready?deep=1"]);
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases: &[(&str, &str)] = &[
            ("ALB_URL", "ftp://x"),
            ("CHECK_PATHS", "healthcheck"),
            ("CHECK_METHOD", "BREW"),
            ("CHECK_HEADERS", "Host: x"),
            ("EVENT_FORMAT", "apigw-v3"),
            ("CHECK_PAYLOAD", "{not json"),
            ("EXPECTED_STATUS", "200-"),
            ("CHECK_ATTEMPTS", "0"),
            ("CHECK_INTERVAL_MS", "soon"),
            ("CHECK_TIMEOUT_MS", "-1"),
            ("CHECK_CONCURRENCY", "99999"),
            ("DEADLINE_MARGIN_MS", "1e3"),
            ("PREFLIGHT_CHECKS", "targets: []"),
            ("PREFLIGHT_CHECKS_FILE", "/nonexistent/preflight-checks.yaml"),
            ("PREFLIGHT_SKIP_UNTIL", "tomorrow"),
        ];
        for (variable, value) in cases {
            let error = config(&[(variable, value)]).unwrap_err();
            assert_eq!(&error.variable, variable, "for {variable}={value}");
            assert!(error.to_string().contains(variable));
        }
    }

    #[test]
    fn http_checks_allow_only_head_or_get_and_no_body() {
        assert_eq!(
            config(&[("ALB_URL", "h"), ("CHECK_METHOD", "POST")])
                .unwrap_err()
                .variable,
            "CHECK_METHOD"
        );
        assert_eq!(
            config(&[("ALB_URL", "h"), ("CHECK_BODY", "x")]).unwrap_err().variable,
            "CHECK_BODY"
        );
        assert_eq!(
            config(&[("ALB_URL", "h"), ("CHECK_METHOD", "head")])
                .unwrap()
                .request
                .method,
            Method::HEAD
        );
        assert_eq!(
            config(&[("CHECK_METHOD", "post")]).unwrap().request.method,
            Method::POST
        );
    }

    #[test]
    fn tls_verification_takes_only_true_or_false() {
        assert_eq!(
            config(&[("ALB_URL", "h"), ("CHECK_TLS_VERIFY", "no")])
                .unwrap_err()
                .variable,
            "CHECK_TLS_VERIFY"
        );
    }

    #[test]
    fn raw_payload_replaces_the_http_event_but_not_alongside_a_format() {
        let config_raw = config(&[("CHECK_PAYLOAD", r#"{"ping": true}"#)]).unwrap();
        assert_eq!(
            config_raw.mode,
            Mode::Lambda(LambdaPayload::Raw(serde_json::json!({"ping": true})))
        );
        let both = config(&[("CHECK_PAYLOAD", "{}"), ("EVENT_FORMAT", "alb")]).unwrap_err();
        assert_eq!(both.variable, "CHECK_PAYLOAD");
    }

    #[test]
    fn a_raw_payload_is_refused_with_http_checks() {
        let error = config(&[("ALB_URL", "test-alb:8080"), ("CHECK_PAYLOAD", r#"{"ping": true}"#)]).unwrap_err();
        assert_eq!(error.variable, "CHECK_PAYLOAD");
        assert!(error.problem.contains("ALB_URL"), "{error}");
    }

    #[test]
    fn header_values_are_never_echoed_in_errors() {
        let error = config(&[("CHECK_HEADERS", r#"{"Authorization": "Bearer s3cr3t\n"}"#)]).unwrap_err();
        assert_eq!(error.variable, "CHECK_HEADERS");
        assert!(!error.to_string().contains("s3cr3t"), "{error}");
    }

    #[test]
    fn headers_parse_into_names_and_values() {
        let config = config(&[("CHECK_HEADERS", r#"{"Host": "app.example.com", "X-Check": "1"}"#)]).unwrap();
        let names: Vec<&str> = config.request.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, vec!["host", "x-check"]);
    }

    #[test]
    fn a_bad_document_names_the_variable_and_the_place() {
        let error = config(&[(
            "PREFLIGHT_CHECKS",
            "targets: [{checks: [{path: /, expect: {json: {'$.st atus': ok}}}]}]",
        )])
        .unwrap_err();
        assert_eq!(error.variable, "PREFLIGHT_CHECKS");
        let message = error.to_string();
        assert!(
            message.starts_with(
                r#"invalid configuration: PREFLIGHT_CHECKS: targets[0].checks[0].expect.json."$.st atus": invalid JSONPath"#
            ),
            "{message}"
        );
    }

    #[test]
    fn the_document_can_come_from_a_file_but_not_from_both_places() {
        let file = std::env::temp_dir().join(format!("preflight-checks-{}.yaml", std::process::id()));
        std::fs::write(&file, "targets: [{function: api, checks: [{path: /ready}]}]").unwrap();
        let path = file.to_str().unwrap();
        let from_file = config(&[("PREFLIGHT_CHECKS_FILE", path)]).unwrap();
        assert_eq!(from_file.definitions.unwrap().entries.len(), 1);
        std::fs::write(&file, "targets: [{function: api}]").unwrap();
        let bad = config(&[("PREFLIGHT_CHECKS_FILE", path)]).unwrap_err();
        assert_eq!(
            (bad.variable, bad.place.as_deref()),
            ("PREFLIGHT_CHECKS_FILE", Some("targets[0].checks"))
        );
        let both = config(&[("PREFLIGHT_CHECKS_FILE", path), ("PREFLIGHT_CHECKS", "targets: []")]).unwrap_err();
        assert!(both.problem.contains("set only one"), "{both}");
        std::fs::remove_file(&file).unwrap();
    }

    #[test]
    fn without_a_document_every_target_gets_the_check_variables() {
        let config = config(&[("CHECK_PATHS", "/a,/b"), ("EXPECTED_STATUS", "204")]).unwrap();
        assert!(config.definitions.is_none());
        assert_eq!(config.defaults.checks.len(), 2);
        assert!(config.defaults.checks[0].expect.status.contains(204));
        assert!(config.defaults.checks[0].expect.assertions.is_empty());
    }

    #[test]
    fn the_skip_is_bounded_by_the_start_up_time() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000); // 2025-11-24T16:00:00Z
        let at = |text: &str| {
            let env: HashMap<String, String> = [("PREFLIGHT_SKIP_UNTIL".to_string(), text.to_string())].into();
            Config::from_lookup_at(&|name| env.get(name).cloned(), now)
        };
        assert!(at("2025-11-25T16:00:00Z").unwrap().skip_until.unwrap().in_force(now));
        let far = at("2025-12-24T16:00:00Z").unwrap_err();
        assert_eq!(far.variable, "PREFLIGHT_SKIP_UNTIL");
        assert!(far.problem.contains("more than 7 days ahead"), "{far}");
    }
}
