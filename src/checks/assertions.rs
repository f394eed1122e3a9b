//! What an answer must be to pass: the expected status and the response assertions of
//! `PREFLIGHT_CHECKS` (`body_contains`, `body_matches`, `json`, `headers`, `max_latency_ms`),
//! applied to an [`Answer`] whatever it came from. Pure: no I/O, no clock.

use std::cell::OnceCell;
use std::fmt;
use std::time::Duration;

use regex_lite::Regex;
use serde_json::Value;
use serde_json_path::JsonPath;

use super::expected_status::ExpectedStatus;
use crate::plumbing::text::truncate;

/// One answer, in the terms the assertions speak: a Lambda HTTP response, the JSON a raw
/// invocation returned, or an HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// `None` for a raw invocation, which has no HTTP status.
    pub status: Option<u16>,
    /// Names in lower case; a name may repeat (multi-value headers).
    pub headers: Vec<(String, String)>,
    /// The body as text (decoded from base64 when the function said so).
    pub body: String,
    pub latency: Duration,
}

/// Everything one check expects of its answer.
#[derive(Debug, Clone)]
pub struct Expectations {
    /// Applies to answers with a status (not to raw invocations).
    pub status: ExpectedStatus,
    pub assertions: Vec<Assertion>,
}

impl PartialEq for Expectations {
    fn eq(&self, other: &Self) -> bool {
        self.status == other.status && self.assertions == other.assertions
    }
}

impl Expectations {
    /// Only a status: what the `CHECK_*` variables give.
    pub fn status_only(status: ExpectedStatus) -> Expectations {
        Expectations {
            status,
            assertions: Vec::new(),
        }
    }

    /// Whether any assertion reads the body (an HTTP check then always reads it).
    pub fn reads_body(&self) -> bool {
        self.assertions.iter().any(|assertion| {
            matches!(
                assertion,
                Assertion::BodyContains(_) | Assertion::BodyMatches(_) | Assertion::Json { .. }
            )
        })
    }

    /// What these expectations ask, in words: `status 200-399, $.status = "ok", within 500 ms`.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("status {}", self.status)];
        parts.extend(self.assertions.iter().map(|assertion| match assertion {
            Assertion::BodyContains(text) => format!("body contains {text:?}"),
            Assertion::BodyMatches(pattern) => format!("body matches /{}/", pattern.text),
            Assertion::Json { path, expected } => format!("{} = {expected}", path.text),
            Assertion::Header { name, value } => format!("header {name} = {value:?}"),
            Assertion::MaxLatency(limit) => format!("within {} ms", limit.as_millis()),
        }));
        parts.join(", ")
    }

    /// Every way `answer` breaks these expectations, each naming the assertion and what was
    /// seen; empty when the answer passes.
    pub fn breaches(&self, answer: &Answer) -> Vec<String> {
        let mut breaches = Vec::new();
        if let Some(status) = answer.status
            && !self.status.contains(status)
        {
            breaches.push(format!(
                "status {status}, expected {}; body: {}",
                self.status,
                truncate(&answer.body)
            ));
        }
        // Parsed once, and only when a `json` assertion asks for it.
        let json = OnceCell::new();
        for assertion in &self.assertions {
            if let Some(breach) = assertion.breach(answer, &json) {
                breaches.push(breach);
            }
        }
        breaches
    }
}

/// The body parsed as JSON, or why it is not JSON.
fn body_json(body: &str) -> Result<Value, String> {
    if body.trim().is_empty() {
        return Err("the body is empty".into());
    }
    serde_json::from_str(body).map_err(|_| format!("the body is not JSON: {}", truncate(body)))
}

/// One response assertion.
#[derive(Debug, Clone)]
pub enum Assertion {
    BodyContains(String),
    BodyMatches(Pattern),
    /// The JSON value(s) `path` selects must equal `expected`.
    Json {
        path: Query,
        expected: Value,
    },
    /// A header (name in lower case) must have exactly this value.
    Header {
        name: String,
        value: String,
    },
    MaxLatency(Duration),
}

impl PartialEq for Assertion {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Assertion::BodyContains(a), Assertion::BodyContains(b)) => a == b,
            (Assertion::BodyMatches(a), Assertion::BodyMatches(b)) => a.text == b.text,
            (Assertion::Json { path: a, expected: x }, Assertion::Json { path: b, expected: y }) => {
                a.text == b.text && x == y
            }
            (Assertion::Header { name: a, value: x }, Assertion::Header { name: b, value: y }) => a == b && x == y,
            (Assertion::MaxLatency(a), Assertion::MaxLatency(b)) => a == b,
            _ => false,
        }
    }
}

/// A compiled regular expression with the text it came from.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub text: String,
    pub regex: Regex,
}

impl Pattern {
    pub fn new(text: &str) -> Result<Pattern, String> {
        Regex::new(text)
            .map(|regex| Pattern {
                text: text.to_string(),
                regex,
            })
            .map_err(|error| {
                format!(
                    "invalid regular expression: {}",
                    crate::plumbing::text::first_line(&error.to_string())
                )
            })
    }
}

/// A parsed RFC 9535 JSONPath query with the text it came from.
#[derive(Debug, Clone)]
pub struct Query {
    pub text: String,
    pub path: JsonPath,
}

impl Query {
    pub fn new(text: &str) -> Result<Query, String> {
        JsonPath::parse(text)
            .map(|path| Query {
                text: text.to_string(),
                path,
            })
            .map_err(|error| format!("invalid JSONPath (RFC 9535): {error}"))
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Assertion {
    fn breach(&self, answer: &Answer, json: &OnceCell<Result<Value, String>>) -> Option<String> {
        match self {
            Assertion::BodyContains(needle) => (!answer.body.contains(needle.as_str())).then(|| {
                format!(
                    "body does not contain {}; body: {}",
                    quoted(needle),
                    truncate(&answer.body)
                )
            }),
            Assertion::BodyMatches(pattern) => (!pattern.regex.is_match(&answer.body)).then(|| {
                format!(
                    "body does not match /{}/; body: {}",
                    truncate(&pattern.text),
                    truncate(&answer.body)
                )
            }),
            Assertion::Json { path, expected } => match json.get_or_init(|| body_json(&answer.body)) {
                Err(why) => Some(format!("{path}: {why}")),
                Ok(document) => json_breach(path, expected, document),
            },
            Assertion::Header { name, value } => {
                let seen: Vec<&str> = answer
                    .headers
                    .iter()
                    .filter(|(header, _)| header == name)
                    .map(|(_, value)| value.as_str())
                    .collect();
                // Values are compared, never shown: a header can carry a token.
                match seen.as_slice() {
                    [] => Some(format!("header {name} is missing")),
                    values if values.contains(&value.as_str()) => None,
                    _ => Some(format!("header {name} has another value than expected")),
                }
            }
            Assertion::MaxLatency(bound) => (answer.latency > *bound)
                .then(|| format!("latency {} ms > {} ms", answer.latency.as_millis(), bound.as_millis())),
        }
    }
}

/// Every node the query selects must equal `expected`, and it must select at least one.
fn json_breach(path: &Query, expected: &Value, document: &Value) -> Option<String> {
    let nodes = path.path.query(document).all();
    match nodes.as_slice() {
        [] => Some(format!("{path} selects nothing, expected {}", shown(expected))),
        nodes => nodes
            .iter()
            .find(|node| **node != expected)
            .map(|node| format!("{path} is {}, expected {}", shown(node), shown(expected))),
    }
}

fn shown(value: &Value) -> String {
    truncate(&value.to_string())
}

fn quoted(text: &str) -> String {
    truncate(&Value::String(text.to_string()).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(status: Option<u16>, body: &str) -> Answer {
        Answer {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
            latency: Duration::from_millis(40),
        }
    }

    fn expect(assertions: Vec<Assertion>) -> Expectations {
        Expectations {
            status: ExpectedStatus::default(),
            assertions,
        }
    }

    fn json(path: &str, expected: Value) -> Assertion {
        Assertion::Json {
            path: Query::new(path).unwrap(),
            expected,
        }
    }

    #[test]
    fn a_degraded_200_breaks_a_json_assertion_and_says_what_it_saw() {
        let expectations = expect(vec![json("$.status", json!("ok"))]);
        let breaches = expectations.breaches(&answer(Some(200), r#"{"status": "degraded"}"#));
        assert_eq!(breaches, vec![r#"$.status is "degraded", expected "ok""#]);
        assert!(
            expectations
                .breaches(&answer(Some(200), r#"{"status": "ok"}"#))
                .is_empty()
        );
    }

    #[test]
    fn json_assertions_never_pass_on_an_empty_or_non_json_body() {
        let expectations = expect(vec![json("$.ok", json!(true))]);
        assert_eq!(
            expectations.breaches(&answer(Some(200), "")),
            vec!["$.ok: the body is empty"]
        );
        let breaches = expectations.breaches(&answer(Some(200), "<html>ok</html>"));
        assert_eq!(breaches, vec!["$.ok: the body is not JSON: <html>ok</html>"]);
    }

    #[test]
    fn a_query_that_selects_nothing_fails_and_several_nodes_must_all_match() {
        let nothing = expect(vec![json("$.checks.db", json!("up"))]);
        assert_eq!(
            nothing.breaches(&answer(Some(200), r#"{"checks": {}}"#)),
            vec![r#"$.checks.db selects nothing, expected "up""#]
        );
        let every = expect(vec![json("$.checks[*]", json!("up"))]);
        assert!(
            every
                .breaches(&answer(Some(200), r#"{"checks": {"a": "up", "b": "up"}}"#))
                .is_empty()
        );
        assert_eq!(
            every.breaches(&answer(Some(200), r#"{"checks": {"a": "up", "b": "down"}}"#)),
            vec![r#"$.checks[*] is "down", expected "up""#]
        );
    }

    #[test]
    fn json_values_compare_by_type() {
        let expectations = expect(vec![json("$.count", json!(3))]);
        assert!(expectations.breaches(&answer(Some(200), r#"{"count": 3}"#)).is_empty());
        assert_eq!(
            expectations.breaches(&answer(Some(200), r#"{"count": "3"}"#)),
            vec![r#"$.count is "3", expected 3"#]
        );
    }

    #[test]
    fn body_contains_and_matches() {
        let expectations = expect(vec![
            Assertion::BodyContains("ok".into()),
            Assertion::BodyMatches(Pattern::new(r"^\{.*\}$").unwrap()),
        ]);
        assert!(expectations.breaches(&answer(Some(200), r#"{"ok":1}"#)).is_empty());
        assert_eq!(
            expectations.breaches(&answer(Some(200), "fine")),
            vec![
                r#"body does not contain "ok"; body: fine"#,
                r"body does not match /^\{.*\}$/; body: fine"
            ]
        );
    }

    #[test]
    fn header_names_are_case_insensitive_values_exact_and_never_shown() {
        let wanted = |value: &str| {
            expect(vec![Assertion::Header {
                name: "content-type".into(),
                value: value.into(),
            }])
        };
        assert!(wanted("application/json").breaches(&answer(Some(200), "")).is_empty());
        let breaches = wanted("text/plain").breaches(&answer(Some(200), ""));
        assert_eq!(breaches, vec!["header content-type has another value than expected"]);
        assert!(!breaches[0].contains("application/json"));
        let missing = expect(vec![Assertion::Header {
            name: "x-version".into(),
            value: "2".into(),
        }]);
        assert_eq!(
            missing.breaches(&answer(Some(200), "")),
            vec!["header x-version is missing"]
        );
    }

    #[test]
    fn latency_bound() {
        let expectations = expect(vec![Assertion::MaxLatency(Duration::from_millis(30))]);
        assert_eq!(
            expectations.breaches(&answer(Some(200), "")),
            vec!["latency 40 ms > 30 ms"]
        );
        let generous = expect(vec![Assertion::MaxLatency(Duration::from_millis(40))]);
        assert!(generous.breaches(&answer(Some(200), "")).is_empty());
    }

    #[test]
    fn status_applies_only_to_answers_that_have_one() {
        let expectations = expect(Vec::new());
        assert_eq!(
            expectations.breaches(&answer(Some(500), "down")),
            vec!["status 500, expected 200-399; body: down"]
        );
        assert!(expectations.breaches(&answer(None, "anything")).is_empty());
    }

    #[test]
    fn bad_patterns_and_paths_say_what_is_wrong() {
        assert!(Pattern::new("(").unwrap_err().starts_with("invalid regular expression"));
        assert!(
            Query::new("$.st atus")
                .unwrap_err()
                .starts_with("invalid JSONPath (RFC 9535)")
        );
        assert!(Query::new("status").is_err(), "a JSONPath query starts with $");
    }

    #[test]
    fn rfc_9535_filters_and_functions_work_except_the_regular_expression_ones() {
        let document = json!({"checks": [{"name": "db", "up": true}, {"name": "cache", "up": false}]});
        let selected = |query: &str| Query::new(query).unwrap().path.query(&document).all().len();
        assert_eq!(selected("$.checks[?@.up == true].name"), 1);
        assert_eq!(selected("$.checks[?length(@.name) > 2]"), 1);
        assert_eq!(selected("$.checks[?count(@.*) == 2]"), 2);
        let refused = Query::new("$.checks[?match(@.name, 'd.')]").unwrap_err();
        assert!(refused.starts_with("invalid JSONPath"), "{refused}");
    }
}
