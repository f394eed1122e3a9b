//! Reading a check-definitions document (YAML or JSON) into [`Definitions`].
//!
//! Two passes: serde reads the shape (unknown keys refused, so that a typo cannot silently drop
//! an assertion; `serde_path_to_error` keeps where it went wrong), then [`validate`] compiles
//! globs, JSONPath queries, regular expressions, methods and headers, naming the place of every
//! problem: `targets[2].checks[0].expect.json."$.st atus": invalid JSONPath ...`. Keys a check
//! leaves out take the value of their `CHECK_*` variable ([`Inherited`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::http::{HeaderName, HeaderValue, Method};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{CheckDefinition, Definitions, Entry, Glob, HttpRequest, Selectors, Source, TargetPlan, ToSend};
use crate::checks::assertions::{Assertion, Expectations, Pattern, Query};
use crate::checks::canary::settings::CanaryEntry;
use crate::checks::expected_status::ExpectedStatus;
use crate::checks::terms::{EventFormat, Patience, header_pair, method_named, parse_event_format_name};
use crate::plumbing::text::{first_line, kind_of, truncate};

/// What a key left out of a check takes: the value of its `CHECK_*` variable.
#[derive(Debug, Clone, PartialEq)]
pub struct Inherited {
    pub method: Method,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<String>,
    pub format: EventFormat,
    pub expected: ExpectedStatus,
    pub patience: Patience,
    /// `ALB_URL` is set: checks are HTTP requests, so raw payloads, bodies and event formats
    /// have nowhere to go.
    pub http_mode: bool,
}

/// A problem in the document and where it is: `targets[0].checks` or `line 3, column 7`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentError {
    pub place: String,
    pub problem: String,
}

/// Reads and validates `text`.
pub fn parse(text: &str, inherited: &Inherited) -> Result<Definitions, DocumentError> {
    let value: Value = serde_saphyr::from_str(text).map_err(|error| DocumentError {
        place: error.location().map_or_else(
            || "the document".to_string(),
            |at| format!("line {}, column {}", at.line(), at.column()),
        ),
        problem: format!("is not valid YAML or JSON: {}", first_line(&error.to_string())),
    })?;
    let document: Document = serde_path_to_error::deserialize(&value).map_err(|error| DocumentError {
        place: place_of(error.path()),
        problem: first_line(&error.into_inner().to_string()),
    })?;
    validate(document, inherited)
}

/// Reads one entry given outside the document (an ECS hook's `hookDetails.preflight`), for the
/// one target it is given for: selectors have nothing to choose there and are refused. Places in
/// errors start at `place`.
pub fn parse_entry(value: &Value, place: &str, inherited: &Inherited) -> Result<TargetPlan, DocumentError> {
    let target: TargetEntry = serde_path_to_error::deserialize(value).map_err(|error| {
        let inner = place_of(error.path());
        DocumentError {
            place: if inner == "the document" {
                place.to_string()
            } else {
                format!("{place}.{inner}")
            },
            problem: first_line(&error.into_inner().to_string()),
        }
    })?;
    for (key, given) in [
        ("function", target.function.is_some()),
        ("deployment_group", target.deployment_group.is_some()),
        ("service", target.service.is_some()),
    ] {
        if given {
            return Err(at(
                format!("{place}.{key}"),
                "chooses targets, but these checks are for the service whose hook carries them: remove it",
            ));
        }
    }
    let entry = entry(0, target, inherited).map_err(|error| DocumentError {
        place: error.place.replacen("targets[0]", place, 1),
        problem: error.problem,
    })?;
    Ok(TargetPlan {
        source: Source::HookDetails,
        ..entry.plan
    })
}

/// Every key the document takes, as `targets[].checks[].expect.json`. Read from serde itself
/// (its error for an unknown key lists the known ones), so that `tests/docs.rs` can hold the
/// table of keys in `docs/checks.md` to the code.
pub fn keys() -> Vec<String> {
    let unknown = || json!({"\u{1}": 1});
    let levels = [
        ("", unknown()),
        ("targets[].", json!({"targets": [unknown()]})),
        ("targets[].checks[].", json!({"targets": [{"checks": [unknown()]}]})),
        (
            "targets[].checks[].expect.",
            json!({"targets": [{"checks": [{"expect": unknown()}]}]}),
        ),
        ("targets[].canary.", json!({"targets": [{"canary": unknown()}]})),
        (
            "targets[].canary.traffic.",
            json!({"targets": [{"canary": {"traffic": unknown()}}]}),
        ),
    ];
    let mut keys = Vec::new();
    for (prefix, probe) in levels {
        let message = match serde_json::from_value::<Document>(probe) {
            Ok(_) => continue,
            Err(error) => error.to_string(),
        };
        let Some((_, expected)) = message.split_once("expected") else {
            continue;
        };
        keys.extend(
            expected
                .split('`')
                .skip(1)
                .step_by(2)
                .map(|key| format!("{prefix}{key}")),
        );
    }
    keys
}

// The document's shape. Every key is optional to serde so that a missing one gets a sentence
// of ours, naming its place, rather than serde's.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    targets: Option<Vec<TargetEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetEntry {
    function: Option<String>,
    deployment_group: Option<String>,
    service: Option<String>,
    attempts: Option<u64>,
    interval_ms: Option<u64>,
    timeout_ms: Option<u64>,
    skip: Option<bool>,
    checks: Option<Vec<CheckEntry>>,
    /// `canary:` with nothing after it turns judging on as `canary: {}` does.
    #[serde(default, deserialize_with = "present_even_if_empty")]
    canary: Option<CanaryEntry>,
}

fn present_even_if_empty<'de, D: serde::Deserializer<'de>>(value: D) -> Result<Option<CanaryEntry>, D::Error> {
    Option::<CanaryEntry>::deserialize(value).map(|entry| Some(entry.unwrap_or_default()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckEntry {
    path: Option<String>,
    method: Option<String>,
    headers: Option<BTreeMap<String, Value>>,
    body: Option<String>,
    event_format: Option<String>,
    payload: Option<Value>,
    expect: Option<Expect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    status: Option<Value>,
    body_contains: Option<String>,
    body_matches: Option<String>,
    json: Option<BTreeMap<String, Value>>,
    headers: Option<BTreeMap<String, Value>>,
    max_latency_ms: Option<u64>,
}

fn at(place: impl Into<String>, problem: impl Into<String>) -> DocumentError {
    DocumentError {
        place: place.into(),
        problem: problem.into(),
    }
}

fn validate(document: Document, inherited: &Inherited) -> Result<Definitions, DocumentError> {
    let Some(targets) = document.targets else {
        return Err(at(
            "targets",
            "is missing: list the targets, like `targets: [{function: \"my-api\", checks: [{path: /health}]}]`",
        ));
    };
    if targets.is_empty() {
        return Err(at(
            "targets",
            "is empty: give at least one entry, or unset the variable to use the CHECK_* settings",
        ));
    }
    let entries = targets
        .into_iter()
        .enumerate()
        .map(|(index, target)| entry(index, target, inherited))
        .collect::<Result<_, _>>()?;
    Ok(Definitions { entries })
}

fn entry(index: usize, target: TargetEntry, inherited: &Inherited) -> Result<Entry, DocumentError> {
    let here = format!("targets[{index}]");
    let glob = |key: &str, text: Option<String>| -> Result<Option<Glob>, DocumentError> {
        match text {
            Some(text) if text.trim().is_empty() => Err(at(
                format!("{here}.{key}"),
                "is empty: give a name or a glob (* and ?), or leave the key out",
            )),
            Some(text) => Ok(Some(Glob::new(text.trim()))),
            None => Ok(None),
        }
    };
    let selectors = Selectors {
        function: glob("function", target.function)?,
        deployment_group: glob("deployment_group", target.deployment_group)?,
        service: glob("service", target.service)?,
    };
    let patience = Patience {
        attempts: bounded(&here, "attempts", target.attempts, 1, 20)?.map_or(inherited.patience.attempts, |n| n as u32),
        interval: bounded(&here, "interval_ms", target.interval_ms, 0, 60_000)?
            .map_or(inherited.patience.interval, Duration::from_millis),
        timeout: bounded(&here, "timeout_ms", target.timeout_ms, 1, 900_000)?
            .map_or(inherited.patience.timeout, Duration::from_millis),
    };
    let skip = target.skip.unwrap_or(false);
    let canary = match target.canary {
        Some(_) if skip => {
            return Err(at(
                format!("{here}.canary"),
                "asks to judge targets that `skip: true` leaves unchecked: remove one of the two",
            ));
        }
        Some(entry) => Some(
            entry
                .settings()
                .map_err(|error| at(format!("{here}.canary.{}", error.key), error.problem))?,
        ),
        None => None,
    };
    let checks = match target.checks {
        Some(checks) if !checks.is_empty() => checks
            .into_iter()
            .enumerate()
            .map(|(i, check)| check_definition(&format!("{here}.checks[{i}]"), check, inherited))
            .collect::<Result<Vec<_>, _>>()?,
        _ if skip => Vec::new(),
        Some(_) => {
            return Err(at(
                format!("{here}.checks"),
                "is empty: give at least one check, or `skip: true` to leave these targets unchecked",
            ));
        }
        None => {
            return Err(at(
                format!("{here}.checks"),
                "is missing: give at least one check, or `skip: true` to leave these targets unchecked",
            ));
        }
    };
    if let Some(traffic) = canary.as_ref().and_then(|canary| canary.traffic)
        && !checks
            .iter()
            .any(|check| check.send.sendable_as_traffic(traffic.methods))
    {
        return Err(at(
            format!("{here}.canary.traffic"),
            format!(
                "has nothing to send: traffic sends this entry's checks whose method is one of {} and its raw \
                 payloads, and it has none: add such a check, or name the method under traffic.methods",
                traffic.methods.shown()
            ),
        ));
    }
    Ok(Entry {
        selectors,
        plan: TargetPlan {
            source: Source::Entry(index),
            skip,
            patience,
            checks,
            canary,
        },
    })
}

fn bounded(here: &str, key: &str, value: Option<u64>, min: u64, max: u64) -> Result<Option<u64>, DocumentError> {
    match value {
        Some(value) if !(min..=max).contains(&value) => Err(at(
            format!("{here}.{key}"),
            format!("is {value}: expected a whole number from {min} to {max}"),
        )),
        other => Ok(other),
    }
}

fn check_definition(here: &str, check: CheckEntry, inherited: &Inherited) -> Result<CheckDefinition, DocumentError> {
    let send = match (check.path, check.payload) {
        (Some(_), Some(_)) => {
            return Err(at(
                here,
                "has both `path` and `payload`: a check is either an HTTP request (path) or a raw invocation (payload)",
            ));
        }
        (None, None) => {
            return Err(at(
                here,
                "has neither `path` nor `payload`: give a path for an HTTP check, or a payload for a raw invocation",
            ));
        }
        (Some(path), None) => ToSend::Http(http_request(
            here,
            path,
            check.method,
            check.headers,
            check.body,
            check.event_format,
            inherited,
        )?),
        (None, Some(payload)) => {
            if inherited.http_mode {
                return Err(at(
                    format!("{here}.payload"),
                    "is a raw invocation, but ALB_URL is set, so checks are HTTP requests to the load balancer: \
                     give a path instead, or unset ALB_URL to invoke the function",
                ));
            }
            let for_http_only = [
                ("method", check.method.is_some()),
                ("headers", check.headers.is_some()),
                ("body", check.body.is_some()),
                ("event_format", check.event_format.is_some()),
            ];
            if let Some((key, _)) = for_http_only.iter().find(|(_, given)| *given) {
                return Err(at(
                    format!("{here}.{key}"),
                    "belongs to HTTP checks, but this check sends a raw payload: remove it, or use path instead of payload",
                ));
            }
            ToSend::Raw(payload)
        }
    };
    let raw = matches!(send, ToSend::Raw(_));
    let expect = match check.expect {
        Some(expect) => expectations(&format!("{here}.expect"), expect, raw, inherited)?,
        None => Expectations::status_only(inherited.expected.clone()),
    };
    Ok(CheckDefinition {
        send,
        expect: Arc::new(expect),
    })
}

fn http_request(
    here: &str,
    path: String,
    method: Option<String>,
    headers: Option<BTreeMap<String, Value>>,
    body: Option<String>,
    event_format: Option<String>,
    inherited: &Inherited,
) -> Result<HttpRequest, DocumentError> {
    let path = path.trim().to_string();
    if !path.starts_with('/') || path.contains(char::is_whitespace) {
        return Err(at(
            format!("{here}.path"),
            format!("is `{}`: a path starts with / and has no spaces", truncate(&path)),
        ));
    }
    let method = match method {
        Some(name) => method_named(&name, inherited.http_mode).map_err(|why| at(format!("{here}.method"), why))?,
        None => inherited.method.clone(),
    };
    let headers = match headers {
        Some(headers) => header_pairs(&format!("{here}.headers"), headers)?,
        None => inherited.headers.clone(),
    };
    if inherited.http_mode {
        for (key, given) in [("body", body.is_some()), ("event_format", event_format.is_some())] {
            if given {
                return Err(at(
                    format!("{here}.{key}"),
                    "is for Lambda HTTP events, but ALB_URL is set, so checks are HEAD or GET requests to the load \
                     balancer: remove it",
                ));
            }
        }
    }
    let format = match event_format {
        Some(name) => parse_event_format_name(&name).map_err(|why| at(format!("{here}.event_format"), why))?,
        None => inherited.format,
    };
    Ok(HttpRequest {
        path,
        method,
        headers,
        body: body.or_else(|| inherited.body.clone()),
        format,
    })
}

/// Header values are never echoed in errors: they may be secrets.
fn header_pairs(here: &str, headers: BTreeMap<String, Value>) -> Result<Vec<(HeaderName, HeaderValue)>, DocumentError> {
    headers
        .into_iter()
        .map(|(name, value)| {
            let place = format!("{here}.{}", key_name(&name));
            let Value::String(text) = value else {
                return Err(at(
                    place,
                    format!("is {}: a header value is a string (quote it)", kind_of(&value)),
                ));
            };
            header_pair(&name, &text).map_err(|why| at(place, why))
        })
        .collect()
}

fn expectations(here: &str, expect: Expect, raw: bool, inherited: &Inherited) -> Result<Expectations, DocumentError> {
    if raw {
        for (key, given) in [
            ("status", expect.status.is_some()),
            ("headers", expect.headers.is_some()),
        ] {
            if given {
                return Err(at(
                    format!("{here}.{key}"),
                    "applies to HTTP answers, but a raw invocation returns JSON without a status or headers: \
                     assert on the returned JSON with `json` instead",
                ));
            }
        }
    }
    let status = match expect.status {
        None => inherited.expected.clone(),
        Some(value) => {
            let text = match &value {
                Value::String(text) => text.clone(),
                Value::Number(number) => number.to_string(),
                other => {
                    return Err(at(
                        format!("{here}.status"),
                        format!("is {}: give codes or ranges like 200-299,304", kind_of(other)),
                    ));
                }
            };
            ExpectedStatus::parse(&text)
                .map_err(|why| at(format!("{here}.status"), format!("is `{}`: {why}", truncate(&text))))?
        }
    };
    let mut assertions = Vec::new();
    if let Some(needle) = expect.body_contains {
        if needle.is_empty() {
            return Err(at(
                format!("{here}.body_contains"),
                "is empty, which every body contains: give the text to look for",
            ));
        }
        assertions.push(Assertion::BodyContains(needle));
    }
    if let Some(text) = expect.body_matches {
        let pattern = Pattern::new(&text).map_err(|why| at(format!("{here}.body_matches"), why))?;
        assertions.push(Assertion::BodyMatches(pattern));
    }
    if let Some(json) = expect.json {
        if json.is_empty() {
            return Err(at(
                format!("{here}.json"),
                "is empty: map JSONPath queries to the values they must select, like `$.status: ok`",
            ));
        }
        for (path, expected) in json {
            let query = Query::new(&path).map_err(|why| at(format!("{here}.json.{}", key_name(&path)), why))?;
            assertions.push(Assertion::Json { path: query, expected });
        }
    }
    if let Some(headers) = expect.headers {
        for (name, value) in headers {
            let place = format!("{here}.headers.{}", key_name(&name));
            let Value::String(value) = value else {
                return Err(at(
                    place,
                    format!(
                        "is {}: an expected header value is a string (quote it)",
                        kind_of(&value)
                    ),
                ));
            };
            let (name, _) = header_pair(&name, &value).map_err(|why| at(place, why))?;
            assertions.push(Assertion::Header {
                name: name.as_str().to_string(),
                value,
            });
        }
    }
    if let Some(bound) = bounded(here, "max_latency_ms", expect.max_latency_ms, 1, 900_000)? {
        assertions.push(Assertion::MaxLatency(Duration::from_millis(bound)));
    }
    Ok(Expectations { status, assertions })
}

/// serde's path in the same notation as ours: `targets[0].checks`, odd keys quoted.
fn place_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut place = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => place.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !place.is_empty() {
                    place.push('.');
                }
                place.push_str(&key_name(key));
            }
            Segment::Unknown => place.push_str(if place.is_empty() { "?" } else { ".?" }),
        }
    }
    if place.is_empty() { "the document".into() } else { place }
}

/// A map key as the place shows it: bare when it is a plain word, quoted otherwise.
fn key_name(key: &str) -> String {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        key.to_string()
    } else {
        Value::String(truncate(key)).to_string()
    }
}

#[cfg(test)]
mod tests;
