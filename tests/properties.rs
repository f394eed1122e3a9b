//! Property tests: the parsers that read outside input (hook payload, deployment notifications,
//! AppSpec, environment, check definitions) never panic, and always end in a value or a clear, one-line error that
//! says what was wrong.

use std::collections::HashMap;

use preflight::checks::config::Config;
use preflight::codedeploy_hook::appspec::parse_appspec;
use preflight::codedeploy_hook::payload::parse_hook_event;
use preflight::ecs_hook::payload::parse_ecs_hook_event;
use preflight::maintenance::config::MaintenanceConfig;
use preflight::maintenance::notification::{parse_notifications, parse_trigger_message};
use proptest::prelude::*;
use serde_json::Value;

const VALID_APPSPEC: &str = "version: 0.0\nResources:\n  - myFunction:\n      Type: AWS::Lambda::Function\n      \
    Properties:\n        Name: my-api\n        Alias: live\n        CurrentVersion: 1\n        TargetVersion: \"2\"\n\
    Hooks:\n  - BeforeAllowTraffic: CodeDeployHook_preflight\n";

const VALID_PAYLOAD: &str = r#"{"DeploymentId":"d-ABC123","LifecycleEventHookExecutionId":"eyJlbmMiOiJ4In0="}"#;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        Just(Value::String("DeploymentId".into())),
        Just(Value::String("CREATED".into())),
        Just(Value::String("CodeDeploy Deployment State-change Notification".into())),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        "DeploymentId",
                        "LifecycleEventHookExecutionId",
                        "Records",
                        "Sns",
                        "Message",
                        "detail-type",
                        "detail",
                        "deploymentId",
                        "status",
                        ".{0,8}"
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// A text edit: delete, insert or replace a run of characters at a position.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, String),
    Replace(usize, String),
}

fn edit() -> impl Strategy<Value = Edit> {
    let noise = prop_oneof![
        "[ \\-:\\[\\]{}\"'\n&*!|>#%@`,?]{1,4}",
        ".{1,6}",
        Just("\n  - ".to_string())
    ];
    prop_oneof![
        (any::<usize>(), 1usize..12).prop_map(|(at, len)| Edit::Delete(at, len)),
        (any::<usize>(), noise.clone()).prop_map(|(at, text)| Edit::Insert(at, text)),
        (any::<usize>(), noise).prop_map(|(at, text)| Edit::Replace(at, text)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for edit in edits {
        let at = |n: usize, len: usize| if len == 0 { 0 } else { n % (len + 1) };
        match edit {
            Edit::Delete(n, len) => {
                let start = at(*n, chars.len());
                let end = (start + len).min(chars.len());
                chars.drain(start..end);
            }
            Edit::Insert(n, text) => {
                let start = at(*n, chars.len());
                chars.splice(start..start, text.chars());
            }
            Edit::Replace(n, text) => {
                let start = at(*n, chars.len());
                let end = (start + text.chars().count()).min(chars.len());
                chars.splice(start..end, text.chars());
            }
        }
    }
    chars.into_iter().collect()
}

fn assert_appspec_outcome(text: &str) {
    if let Err(error) = parse_appspec(text) {
        let message = error.to_string();
        assert!(
            message.starts_with("cannot read the deployment's AppSpec: "),
            "{message}"
        );
        assert!(
            message.len() > "cannot read the deployment's AppSpec: ".len(),
            "empty reason"
        );
        assert!(!message.contains('\n'), "multi-line: {message}");
    }
}

fn assert_payload_outcome(payload: &Value) {
    match parse_hook_event(payload) {
        Ok(event) => {
            assert!(!event.deployment_id.trim().is_empty());
            assert!(!event.lifecycle_event_hook_execution_id.trim().is_empty());
        }
        Err(error) => {
            let message = error.to_string();
            assert!(message.starts_with("invalid hook payload: "), "{message}");
        }
    }
}

/// A trigger message every field of which may be missing, of the wrong type, or odd.
const VALID_TRIGGER: &str = r#"{"region":"us-east-1","accountId":"111122223333","eventTriggerName":"t","applicationName":"shop","deploymentId":"d-1","deploymentGroupName":"shop-web","createTime":"Thu Oct 13 15:50:45 UTC 2022","completeTime":null,"deploymentOverview":"{\"Pending\":1}","status":"CREATED","errorInformation":"{\"ErrorCode\":\"X\"}"}"#;

fn assert_notification_outcome(payload: &Value) {
    match parse_notifications(payload) {
        Ok(notifications) => {
            assert!(!notifications.is_empty());
            for n in notifications {
                assert!(!n.deployment_id.trim().is_empty() && !n.deployment_group.trim().is_empty());
            }
        }
        Err(error) => {
            let message = error.to_string();
            assert!(message.starts_with("invalid deployment notification: "), "{message}");
        }
    }
}

/// A document using every key, to mutate.
const VALID_CHECKS: &str = r#"targets:
  - function: "orders-*"
    deployment_group: "shop/*"
    attempts: 5
    interval_ms: 2000
    timeout_ms: 3000
    skip: false
    checks:
      - path: /health?deep=1
        method: GET
        headers: {x-api-key: "k"}
        event_format: apigw-v2
        expect:
          status: 200-299
          body_contains: "ok"
          body_matches: "^\\{.*\\}$"
          json: {$.status: ok, $.checks[*].db: up}
          headers: {content-type: application/json}
          max_latency_ms: 800
      - payload: {"source": "preflight"}
        expect: {json: {$.ok: true}}
  - service: checkout
    skip: true
"#;

/// JSON shaped like a check-definitions document, with the document's keys and some others.
fn checks_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-5i64..100_000).prop_map(Value::from),
        prop_oneof![
            "/[a-z?=]{0,6}",
            "[$.a-z\\[\\]*@?()=' ]{0,10}",
            ".{0,8}",
            "[*?a-z/-]{0,8}"
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        "targets",
                        "function",
                        "deployment_group",
                        "service",
                        "attempts",
                        "interval_ms",
                        "timeout_ms",
                        "skip",
                        "checks",
                        "path",
                        "method",
                        "headers",
                        "body",
                        "event_format",
                        "payload",
                        "expect",
                        "status",
                        "body_contains",
                        "body_matches",
                        "json",
                        "max_latency_ms",
                        "\\$\\.[a-z]{1,4}",
                        ".{0,6}"
                    ],
                    inner
                ),
                0..5
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// Either the document is read, or the error names `PREFLIGHT_CHECKS` and a place in it, on one line.
fn assert_checks_outcome(text: &str, alb: bool) {
    let mut env: HashMap<&str, &str> = HashMap::from([("PREFLIGHT_CHECKS", text)]);
    if alb {
        env.insert("ALB_URL", "test-alb:8080");
    }
    match Config::from_lookup(&|name| env.get(name).map(|v| v.to_string())) {
        Ok(config) => assert!(config.definitions.is_some_and(|d| !d.entries.is_empty())),
        Err(error) => {
            assert_eq!(error.variable, "PREFLIGHT_CHECKS", "{error}");
            let place = error.place.clone().unwrap_or_default();
            assert!(!place.trim().is_empty(), "no place: {error}");
            let message = error.to_string();
            assert!(
                message.starts_with(&format!("invalid configuration: PREFLIGHT_CHECKS: {place}: ")),
                "{message}"
            );
            assert!(!message.contains('\n'), "multi-line: {message}");
        }
    }
}

/// An ECS lifecycle-hook call as the ECS guide documents it, to mutate.
const VALID_ECS_PAYLOAD: &str = r#"{"executionId":"a1b2","lifecycleStage":"POST_TEST_TRAFFIC_SHIFT","resourceArn":"arn:aws:ecs:us-east-1:1:service-deployment/shop/checkout/x","executionDetails":{"serviceArn":"arn:aws:ecs:us-east-1:1:service/shop/checkout","targetServiceRevisionArn":"arn:green","testTrafficWeights":{"arn:green":100,"arn:blue":0},"productionTrafficWeights":{}},"hookDetails":{"preflight":{}}}"#;

fn assert_ecs_payload_outcome(payload: &Value) {
    match parse_ecs_hook_event(payload) {
        Ok(event) => assert!(!event.execution_id.trim().is_empty() && !event.target_revision_arn.trim().is_empty()),
        Err(error) => {
            let message = error.to_string();
            assert!(message.starts_with("invalid ECS lifecycle hook payload: "), "{message}");
            assert!(!message.contains('\n'), "multi-line: {message}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn ecs_payload_parser_handles_any_json(payload in json_value()) {
        assert_ecs_payload_outcome(&payload);
    }

    #[test]
    fn ecs_payload_parser_handles_mutated_valid_payloads(edits in prop::collection::vec(edit(), 1..4)) {
        if let Ok(payload) = serde_json::from_str::<Value>(&apply(VALID_ECS_PAYLOAD, &edits)) {
            assert_ecs_payload_outcome(&payload);
        }
    }

    #[test]
    fn check_definitions_parser_handles_mutated_valid_documents(
        edits in prop::collection::vec(edit(), 1..6),
        alb in any::<bool>(),
    ) {
        assert_checks_outcome(&apply(VALID_CHECKS, &edits), alb);
    }

    #[test]
    fn check_definitions_parser_handles_any_shape(value in checks_json(), alb in any::<bool>()) {
        assert_checks_outcome(&value.to_string(), alb);
        assert_checks_outcome(&serde_json::json!({"targets": [value]}).to_string(), alb);
    }


    #[test]
    fn notification_parser_handles_any_json(payload in json_value()) {
        assert_notification_outcome(&payload);
    }

    #[test]
    fn trigger_message_parser_handles_mutated_valid_messages(edits in prop::collection::vec(edit(), 1..5)) {
        let text = apply(VALID_TRIGGER, &edits);
        if let Err(why) = parse_trigger_message(&text) {
            prop_assert!(!why.is_empty() && !why.contains('\n'), "{why}");
        }
    }

    #[test]
    fn maintenance_config_parser_names_the_variable_for_any_value(
        variable in prop::sample::select(MaintenanceConfig::variables().into_iter().collect::<Vec<_>>()),
        value in prop_oneof![".{0,40}", "[0-9\\-]{0,6}", "\\{.{0,30}\\}"],
    ) {
        let mut env: HashMap<String, String> = HashMap::new();
        env.insert(
            "MAINTENANCE_LISTENERS".into(),
            r#"{"shop": {"web": "arn:aws:elasticloadbalancing:us-east-1:111122223333:listener/app/shop/1/2"}}"#.into(),
        );
        env.insert(variable, value.clone());
        if let Err(error) = MaintenanceConfig::from_lookup(&|name| env.get(name).cloned()) {
            prop_assert!(env.contains_key(error.variable), "{} is not among the variables set", error.variable);
            prop_assert!(error.to_string().contains(error.variable));
        }
    }

    #[test]
    fn payload_parser_handles_any_json(payload in json_value()) {
        assert_payload_outcome(&payload);
    }

    #[test]
    fn payload_parser_handles_mutated_valid_payloads(edits in prop::collection::vec(edit(), 1..4)) {
        let text = apply(VALID_PAYLOAD, &edits);
        // Bytes that are not JSON never reach the parser (the runtime rejects them); the rest must.
        if let Ok(payload) = serde_json::from_str::<Value>(&text) {
            assert_payload_outcome(&payload);
        }
    }

    #[test]
    fn appspec_parser_handles_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        assert_appspec_outcome(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn appspec_parser_handles_arbitrary_json(value in json_value()) {
        assert_appspec_outcome(&value.to_string());
    }

    #[test]
    fn appspec_parser_handles_mutated_valid_appspecs(edits in prop::collection::vec(edit(), 1..6)) {
        assert_appspec_outcome(&apply(VALID_APPSPEC, &edits));
    }

    #[test]
    fn appspec_parser_handles_yaml_shaped_noise(lines in prop::collection::vec(
        "( {0,6})(- )?([A-Za-z]{1,10}|Resources|Type|Properties|Name|TargetVersion)(: )?([A-Za-z0-9:.\\-\\[\\]{}\"&*]{0,12})?",
        0..12,
    )) {
        assert_appspec_outcome(&lines.join("\n"));
    }

    #[test]
    fn config_parser_names_the_variable_for_any_value(
        variable in prop::sample::select(Config::variables().into_iter().collect::<Vec<_>>()),
        value in prop_oneof![".{0,40}", "[0-9\\-,]{0,12}", "\\{.{0,20}\\}"],
        alb in prop::option::of(Just("test-alb:8080".to_string())),
    ) {
        let mut env: HashMap<String, String> = HashMap::new();
        env.insert(variable, value.clone());
        if let Some(alb) = &alb {
            env.entry("ALB_URL".into()).or_insert_with(|| alb.clone());
        }
        if let Err(error) = Config::from_lookup(&|name| env.get(name).cloned()) {
            prop_assert!(env.contains_key(error.variable), "{} is not among the variables set", error.variable);
            prop_assert!(error.to_string().contains(error.variable));
        }
    }
}

/// An AppSpec shaped as a real one (a Lambda resource whose properties carry an extra key, which
/// preflight ignores) whose extra key holds a "billion laughs" of `levels` nested aliases.
fn alias_bomb(levels: usize) -> String {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for n in 1..levels {
        let previous = format!("*a{}", n - 1);
        text.push_str(&format!("a{n}: &a{n} [{}]\n", vec![previous; 10].join(", ")));
    }
    text.push_str(&format!(
        "version: 0.0\nResources:\n  - api:\n      Type: AWS::Lambda::Function\n      Properties:\n        \
         Name: my-api\n        Alias: live\n        CurrentVersion: 1\n        TargetVersion: 2\n        \
         Padding: *a{}\n",
        levels - 1
    ));
    text
}

/// A "billion laughs" AppSpec must be refused quickly, by the parser's alias budget, not
/// expanded. Two levels of the same bomb are a valid AppSpec, so only the budget can refuse ten.
#[test]
fn appspec_alias_bombs_are_refused() {
    assert!(
        parse_appspec(&alias_bomb(2)).is_ok(),
        "{:?}",
        parse_appspec(&alias_bomb(2))
    );
    let started = std::time::Instant::now();
    let result = parse_appspec(&alias_bomb(10));
    let elapsed = started.elapsed();
    let error = result.expect_err("an alias bomb must be refused").to_string();
    assert!(
        error.contains("budget breached"),
        "refused by the alias budget: {error}"
    );
    assert!(elapsed < std::time::Duration::from_secs(5), "took {elapsed:?}");
}
