//! The document parser: every key, and every error naming its place.

use super::*;
use crate::checks::assertions::Answer;
use serde_json::json;

fn inherited(http_mode: bool) -> Inherited {
    Inherited {
        method: Method::GET,
        headers: vec![header_pair("x-from-check-headers", "1").unwrap()],
        body: None,
        format: EventFormat::ApiGatewayV1,
        expected: ExpectedStatus::default(),
        patience: Patience {
            attempts: 3,
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
        },
        http_mode,
    }
}

fn lambda(text: &str) -> Result<Definitions, DocumentError> {
    parse(text, &inherited(false))
}

fn error(text: &str) -> DocumentError {
    match lambda(text) {
        Ok(definitions) => panic!("expected an error for {text}, got {definitions:?}"),
        Err(error) => error,
    }
}

const EVERY_KEY: &str = r#"
targets:
  - function: "orders-*"
    deployment_group: "shop/*"
    service: "checkout"
    attempts: 5
    interval_ms: 2000
    timeout_ms: 3000
    skip: false
    checks:
      - path: /health?deep=1
        method: post
        headers: {x-api-key: "k3y"}
        body: '{"ping": 1}'
        event_format: apigw-v2
        expect:
          status: 200-299
          body_contains: "ok"
          body_matches: "^\\{.*\\}$"
          json:
            $.status: ok
            $.checks.db: up
          headers: {Content-Type: application/json}
          max_latency_ms: 800
      - payload: {"source": "preflight"}
        expect:
          json: {$.ok: true}
"#;

#[test]
fn every_key_is_read() {
    let definitions = lambda(EVERY_KEY).unwrap();
    let [entry] = &definitions.entries[..] else {
        panic!("one entry: {definitions:?}");
    };
    let selectors = &entry.selectors;
    assert_eq!(selectors.function.as_ref().unwrap().text, "orders-*");
    assert_eq!(selectors.deployment_group.as_ref().unwrap().text, "shop/*");
    assert_eq!(selectors.service.as_ref().unwrap().text, "checkout");
    assert_eq!(
        entry.plan.patience,
        Patience {
            attempts: 5,
            interval: Duration::from_millis(2000),
            timeout: Duration::from_millis(3000)
        }
    );
    assert!(!entry.plan.skip);
    assert_eq!(entry.plan.source, Source::Entry(0));
    let [http, raw] = &entry.plan.checks[..] else {
        panic!("two checks");
    };
    let ToSend::Http(request) = &http.send else {
        panic!("an HTTP check");
    };
    assert_eq!(request.path, "/health?deep=1");
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.headers.len(), 1, "a check's headers replace CHECK_HEADERS");
    assert_eq!(request.headers[0].0.as_str(), "x-api-key");
    assert_eq!(request.body.as_deref(), Some(r#"{"ping": 1}"#));
    assert_eq!(request.format, EventFormat::ApiGatewayV2);
    let expect = &http.expect;
    assert!(expect.status.contains(204) && !expect.status.contains(302));
    assert_eq!(expect.assertions.len(), 6);
    assert!(expect.assertions.contains(&Assertion::BodyContains("ok".into())));
    assert!(
        expect
            .assertions
            .contains(&Assertion::MaxLatency(Duration::from_millis(800)))
    );
    assert!(expect.assertions.contains(&Assertion::Header {
        name: "content-type".into(),
        value: "application/json".into()
    }));
    assert!(expect.assertions.contains(&Assertion::Json {
        path: Query::new("$.checks.db").unwrap(),
        expected: json!("up")
    }));
    assert!(
        expect
            .assertions
            .contains(&Assertion::BodyMatches(Pattern::new(r"^\{.*\}$").unwrap()))
    );
    assert_eq!(raw.send, ToSend::Raw(json!({"source": "preflight"})));
    assert_eq!(
        raw.expect.assertions,
        vec![Assertion::Json {
            path: Query::new("$.ok").unwrap(),
            expected: json!(true)
        }]
    );
}

#[test]
fn what_a_check_leaves_out_comes_from_the_check_variables() {
    let definitions = lambda("targets: [{checks: [{path: /health}]}]").unwrap();
    let plan = &definitions.entries[0].plan;
    assert_eq!(plan.patience, inherited(false).patience);
    let ToSend::Http(request) = &plan.checks[0].send else {
        panic!("an HTTP check");
    };
    assert_eq!(request.method, Method::GET);
    assert_eq!(request.headers[0].0.as_str(), "x-from-check-headers");
    assert_eq!(request.format, EventFormat::ApiGatewayV1);
    assert_eq!(
        *plan.checks[0].expect,
        Expectations::status_only(ExpectedStatus::default())
    );
}

#[test]
fn json_documents_are_read_too() {
    let json = r#"{"targets": [{"function": "worker", "checks": [{"payload": {"a": 1}, "expect": {"json": {"$.ok": true}}}]}]}"#;
    let definitions = lambda(json).unwrap();
    assert_eq!(definitions.entries[0].plan.checks[0].send, ToSend::Raw(json!({"a": 1})));
}

#[test]
fn a_status_may_be_a_number() {
    let definitions = lambda("targets: [{checks: [{path: /, expect: {status: 204}}]}]").unwrap();
    let status = &definitions.entries[0].plan.checks[0].expect.status;
    assert!(status.contains(204) && !status.contains(200));
}

#[test]
fn a_skipped_entry_needs_no_checks() {
    let definitions = lambda("targets: [{function: legacy-*, skip: true}]").unwrap();
    assert!(definitions.entries[0].plan.skip);
    assert!(definitions.entries[0].plan.checks.is_empty());
}

/// Each bad document, the place its error must name, and words its message must contain.
const BAD: &[(&str, &str, &str)] = &[
    (
        "targets: [{checks: [{path: /}], functoin: x}]",
        "targets[0].functoin",
        "unknown field `functoin`",
    ),
    (
        "targets: [{checks: [{path: /, expect: {jsn: {$.a: 1}}}]}]",
        "targets[0].checks[0].expect.jsn",
        "unknown field `jsn`",
    ),
    ("target: []", "target", "unknown field `target`"),
    ("targets: {a: 1}", "targets", "expected a sequence"),
    ("{}", "targets", "is missing"),
    ("targets: []", "targets", "is empty"),
    ("targets: [{function: x}]", "targets[0].checks", "is missing"),
    ("targets: [{function: x, checks: []}]", "targets[0].checks", "is empty"),
    (
        "targets: [{function: '', checks: [{path: /}]}]",
        "targets[0].function",
        "is empty",
    ),
    (
        "targets: [{attempts: 0, checks: [{path: /}]}]",
        "targets[0].attempts",
        "from 1 to 20",
    ),
    (
        "targets: [{interval_ms: 60001, checks: [{path: /}]}]",
        "targets[0].interval_ms",
        "from 0 to 60000",
    ),
    (
        "targets: [{timeout_ms: 0, checks: [{path: /}]}]",
        "targets[0].timeout_ms",
        "from 1 to 900000",
    ),
    (
        "targets: [{attempts: -1, checks: [{path: /}]}]",
        "targets[0].attempts",
        "invalid value",
    ),
    (
        "targets: [{skip: yes please, checks: [{path: /}]}]",
        "targets[0].skip",
        "invalid type",
    ),
    (
        "targets: [{checks: [{}]}]",
        "targets[0].checks[0]",
        "neither `path` nor `payload`",
    ),
    (
        "targets: [{checks: [{path: /, payload: {}}]}]",
        "targets[0].checks[0]",
        "both `path` and `payload`",
    ),
    (
        "targets: [{checks: [{path: health}]}]",
        "targets[0].checks[0].path",
        "starts with /",
    ),
    (
        "targets: [{checks: [{path: /, method: BREW}]}]",
        "targets[0].checks[0].method",
        "use one of",
    ),
    (
        "targets: [{checks: [{path: /, headers: {'bad header': x}}]}]",
        "targets[0].checks[0].headers.\"bad header\"",
        "not a valid header name",
    ),
    (
        "targets: [{checks: [{path: /, headers: {x-n: 1}}]}]",
        "targets[0].checks[0].headers.x-n",
        "is a number",
    ),
    (
        "targets: [{checks: [{path: /, event_format: apigw-v3}]}]",
        "targets[0].checks[0].event_format",
        "apigw-v1, apigw-v2 or alb",
    ),
    (
        "targets: [{checks: [{payload: {}, method: POST}]}]",
        "targets[0].checks[0].method",
        "belongs to HTTP checks",
    ),
    (
        "targets: [{checks: [{payload: {}, event_format: alb}]}]",
        "targets[0].checks[0].event_format",
        "belongs to HTTP checks",
    ),
    (
        "targets: [{checks: [{payload: {}, expect: {status: 200}}]}]",
        "targets[0].checks[0].expect.status",
        "raw invocation",
    ),
    (
        "targets: [{checks: [{payload: {}, expect: {headers: {a: b}}}]}]",
        "targets[0].checks[0].expect.headers",
        "raw invocation",
    ),
    (
        "targets: [{checks: [{path: /, expect: {status: 200-}}]}]",
        "targets[0].checks[0].expect.status",
        "is `200-`",
    ),
    (
        "targets: [{checks: [{path: /, expect: {status: [200]}}]}]",
        "targets[0].checks[0].expect.status",
        "is an array",
    ),
    (
        "targets: [{checks: [{path: /, expect: {body_contains: ''}}]}]",
        "targets[0].checks[0].expect.body_contains",
        "is empty",
    ),
    (
        "targets: [{checks: [{path: /, expect: {body_matches: '('}}]}]",
        "targets[0].checks[0].expect.body_matches",
        "invalid regular expression",
    ),
    (
        "targets: [{checks: [{path: /, expect: {json: {}}}]}]",
        "targets[0].checks[0].expect.json",
        "is empty",
    ),
    (
        "targets: [{checks: [{path: /, expect: {json: {status: ok}}}]}]",
        "targets[0].checks[0].expect.json.status",
        "invalid JSONPath",
    ),
    (
        "targets: [{checks: [{path: /, expect: {headers: {'a b': x}}}]}]",
        "targets[0].checks[0].expect.headers.\"a b\"",
        "not a valid header name",
    ),
    (
        "targets: [{checks: [{path: /, expect: {headers: {a: true}}}]}]",
        "targets[0].checks[0].expect.headers.a",
        "is a boolean",
    ),
    (
        "targets: [{checks: [{path: /, expect: {max_latency_ms: 0}}]}]",
        "targets[0].checks[0].expect.max_latency_ms",
        "from 1 to 900000",
    ),
    (
        "targets: [{checks: [{path: /, expect: {max_latency_ms: fast}}]}]",
        "targets[0].checks[0].expect.max_latency_ms",
        "invalid type",
    ),
    (
        "targets: [{checks: [{path: /}]}, {checks: [{path: /, expect: {json: {$.ok: 1}, bogus: 1}}]}]",
        "targets[1].checks[0].expect.bogus",
        "unknown field `bogus`",
    ),
    ("targets: [{checks: [{path: /\n", "line", "not valid YAML or JSON"),
];

#[test]
fn every_error_names_its_place_and_what_is_wrong() {
    for (text, place, says) in BAD {
        let error = error(text);
        assert!(
            error.place.starts_with(place) && (place.starts_with("line") || error.place == *place),
            "{text}: place `{}` should start with `{place}` ({})",
            error.place,
            error.problem
        );
        assert!(
            error.problem.contains(says),
            "{text}: `{}` should say `{says}`",
            error.problem
        );
    }
}

#[test]
fn the_issue_s_example_reads_as_it_says() {
    let text = "targets: [{checks: [{path: /}]}, {checks: [{path: /}]}, {checks: [{path: /, expect: {json: {'$.st atus': ok}}}]}]";
    let error = error(text);
    assert_eq!(error.place, r#"targets[2].checks[0].expect.json."$.st atus""#);
    assert!(error.problem.starts_with("invalid JSONPath"), "{}", error.problem);
}

#[test]
fn header_values_are_never_echoed() {
    let error = error("targets: [{checks: [{path: /, headers: {x-key: \"s3cr3t\\n\"}}]}]");
    assert_eq!(error.place, "targets[0].checks[0].headers.x-key");
    assert!(!error.problem.contains("s3cr3t"), "{}", error.problem);
}

#[test]
fn http_mode_refuses_what_only_a_function_can_take() {
    let http = |text: &str| parse(text, &inherited(true)).unwrap_err();
    let raw = http("targets: [{checks: [{payload: {}}]}]");
    assert_eq!(raw.place, "targets[0].checks[0].payload");
    assert!(raw.problem.contains("ALB_URL"), "{}", raw.problem);
    assert_eq!(
        http("targets: [{checks: [{path: /, body: x}]}]").place,
        "targets[0].checks[0].body"
    );
    assert_eq!(
        http("targets: [{checks: [{path: /, event_format: alb}]}]").place,
        "targets[0].checks[0].event_format"
    );
    assert_eq!(
        http("targets: [{checks: [{path: /, method: POST}]}]").place,
        "targets[0].checks[0].method"
    );
    assert!(parse("targets: [{checks: [{path: /, method: HEAD}]}]", &inherited(true)).is_ok());
}

#[test]
fn a_parsed_document_judges_answers() {
    let definitions = lambda(EVERY_KEY).unwrap();
    let raw = &definitions.entries[0].plan.checks[1].expect;
    let answer = |body: &str| Answer {
        status: None,
        headers: Vec::new(),
        body: body.into(),
        latency: Duration::ZERO,
    };
    assert!(raw.breaches(&answer(r#"{"ok": true}"#)).is_empty());
    assert_eq!(
        raw.breaches(&answer(r#"{"ok": false}"#)),
        vec!["$.ok is false, expected true"]
    );
}

#[test]
fn the_keys_are_read_from_the_shape_itself() {
    let keys = keys();
    for key in [
        "targets",
        "targets[].function",
        "targets[].skip",
        "targets[].checks[].payload",
        "targets[].checks[].expect.json",
        "targets[].checks[].expect.max_latency_ms",
        "targets[].canary",
        "targets[].canary.min_requests",
        "targets[].canary.on_inconclusive",
    ] {
        assert!(keys.contains(&key.to_string()), "{key} missing from {keys:?}");
    }
    assert_eq!(keys.len(), 1 + 9 + 7 + 6 + 9 + 3, "{keys:?}");
}

#[test]
fn a_canary_key_turns_judging_on_and_its_bad_values_name_their_place() {
    let plan = |text: &str| parse(text, &inherited(false)).map(|definitions| definitions.entries[0].plan.canary);
    let defaults = Some(crate::checks::canary::CanarySettings::default());
    assert_eq!(plan("targets: [{checks: [{path: /}], canary: {}}]"), Ok(defaults));
    assert_eq!(
        plan("targets: [{checks: [{path: /}], canary: }]"),
        Ok(defaults),
        "`canary:` alone turns it on"
    );
    assert_eq!(plan("targets: [{checks: [{path: /}]}]"), Ok(None));
    let min = plan("targets: [{checks: [{path: /}], canary: {min_requests: 500}}]")
        .unwrap()
        .unwrap();
    assert_eq!(min.min_requests, 500);
    let error = plan("targets: [{checks: [{path: /}], canary: {confidence: 2}}]").unwrap_err();
    assert_eq!(error.place, "targets[0].canary.confidence");
    let error = plan("targets: [{checks: [{path: /}], canary: {min_request: 5}}]").unwrap_err();
    assert_eq!(error.place, "targets[0].canary.min_request");
    assert!(error.problem.contains("min_requests"), "{}", error.problem);
    let error = plan("targets: [{skip: true, canary: {}}]").unwrap_err();
    assert_eq!(error.place, "targets[0].canary");
}

#[test]
fn traffic_needs_a_check_it_may_send_and_sends_other_methods_only_when_named() {
    let plan = |text: &str| parse(text, &inherited(false)).map(|definitions| definitions.entries[0].plan.canary);
    let posting = "targets: [{checks: [{path: /orders, method: POST}], canary: {traffic: {}}}]";
    let error = plan(posting).unwrap_err();
    assert_eq!(error.place, "targets[0].canary.traffic");
    assert!(error.problem.contains("GET, HEAD"), "{}", error.problem);
    let named = "targets: [{checks: [{path: /orders, method: POST}], canary: {traffic: {methods: [POST]}}}]";
    assert!(plan(named).unwrap().unwrap().traffic.is_some());
    let raw = r#"targets: [{checks: [{payload: {"ping": 1}}], canary: {traffic: }}]"#;
    assert_eq!(
        plan(raw).unwrap().unwrap().traffic,
        Some(crate::checks::canary::settings::TrafficSettings::default())
    );
    let error = plan("targets: [{checks: [{path: /}], canary: {traffic: {per_minute: 0}}}]").unwrap_err();
    assert_eq!(error.place, "targets[0].canary.traffic.per_minute");
}
