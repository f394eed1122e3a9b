//! The rehearsal's ECS-native deployments (Amazon ECS's own blue/green, no CodeDeploy): ECS scales
//! green up, shifts test traffic to it through the test listener rule (which asks for a header and
//! a host), and calls the hook, which answers with its verdict. A healthy green goes on to
//! production; a broken one is rolled back, and the rollback's own hook calls are answered at once.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use stand_in::{Answer, EcsService, HookProcess, HttpTarget, LocalAws, Rig, RuntimeOutcome, TestRule};

use crate::rehearsed::{Rehearsed, summary_story};

/// The hook's Lambda timeout, as the template sets it by default.
const HOOK_TIMEOUT: Duration = Duration::from_secs(30);

/// The test listener rule: only requests with this header and host reach green.
fn test_rule() -> TestRule {
    TestRule {
        host: Some("test.checkout.example".into()),
        header: Some(("X-Preflight-Green".into(), "1".into())),
        path_patterns: vec!["/healthcheck".into(), "/api/*".into()],
    }
}

/// A blue/green deployment whose green answers `/healthcheck` with `status`.
pub async fn ecs_native_release(bootstrap: &Path, status: u16) -> std::io::Result<Rehearsed> {
    let green = HttpTarget::start(&[("/healthcheck", Answer::Status(status))]).await?;
    let port = green.port();
    let Rig { aws, hook } = Rig::start(bootstrap, &[]).await?;
    let service = aws.add_ecs_service(port, test_rule());
    let healthy = status < 400;
    let mut lines = vec![
        format!(
            "ECS: service checkout deploys revision {} (BLUE_GREEN); lifecycle hook preflight at \
             POST_TEST_TRAFFIC_SHIFT and PRODUCTION_TRAFFIC_SHIFT",
            short(&service.green_revision)
        ),
        format!("ECS: scale up: green's tasks start (they answer /healthcheck with {status})"),
        "ECS: test traffic shift: the test listener rule (Host test.checkout.example, X-Preflight-Green: 1, \
         /healthcheck, /api/*) now forwards to green"
            .to_string(),
    ];
    aws.shift_test_traffic(&service, true);

    let first = call(&aws, &hook, &service, "POST_TEST_TRAFFIC_SHIFT", None, 1, &mut lines).await;
    if let Some(request) = green.requests().first() {
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map_or("(none)".to_string(), |(_, value)| value.clone())
        };
        lines.push(format!(
            "  green saw GET {} with Host {} and X-Preflight-Green {}",
            request.path,
            header("host"),
            header("x-preflight-green")
        ));
    }
    let reported = if first.as_deref() == Some("SUCCEEDED") {
        lines.push("ECS: production traffic shift: green 100%".into());
        let second = call(
            &aws,
            &hook,
            &service,
            "PRODUCTION_TRAFFIC_SHIFT",
            Some(100.0),
            2,
            &mut lines,
        )
        .await;
        lines.push(match second.as_deref() {
            Some("SUCCEEDED") => "ECS: deployment complete, green serves production".into(),
            _ => "ECS: deployment failed, rolled back to blue".into(),
        });
        second
    } else {
        lines.push("ECS: the hook failed: rolling back, test traffic returns to blue".into());
        aws.shift_test_traffic(&service, false);
        let rollback = call(&aws, &hook, &service, "TEST_TRAFFIC_SHIFT", Some(0.0), 2, &mut lines).await;
        lines.push(match rollback.as_deref() {
            Some("SUCCEEDED") => "ECS: rolled back, blue keeps production".into(),
            _ => "ECS: the rollback was held up by its own hook".into(),
        });
        // The rehearsal expects the verdict to fail green and the rollback not to be held up.
        first.filter(|_| rollback.as_deref() == Some("SUCCEEDED"))
    };
    Ok(Rehearsed {
        title: if healthy {
            "ECS-native blue/green release (no CodeDeploy), checked through green's test listener rule".into()
        } else {
            "ECS-native blue/green release whose green answers 500, rolled back".into()
        },
        lines,
        expected: if healthy { "SUCCEEDED" } else { "FAILED" },
        reported,
        logs: hook.lines(),
    })
}

/// Calls the hook at `stage` and adds what preflight said to the story; the `nth` call's answer.
async fn call(
    aws: &LocalAws,
    hook: &HookProcess,
    service: &EcsService,
    stage: &str,
    green_production: Option<f64>,
    nth: usize,
    lines: &mut Vec<String>,
) -> Option<String> {
    lines.push(format!("ECS: {stage} hook → preflight"));
    let delivered = aws
        .deliver_payload(service.hook_event(stage, green_production, None), HOOK_TIMEOUT)
        .await;
    let answer = match delivered.outcome {
        RuntimeOutcome::Response(answer) => answer.get("hookStatus").and_then(Value::as_str).map(str::to_string),
        other => {
            lines.push(format!("  preflight did not answer: {other:?}"));
            return None;
        }
    };
    if let Some(summary) = hook.wait_for_logged("ecs hook summary", nth).await.get(nth - 1) {
        lines.extend(summary_story(summary, "hook_status", "answered"));
    }
    answer
}

/// `…/checkout-1/2` of a revision ARN.
fn short(arn: &str) -> &str {
    arn.rsplit_once(":service-revision/").map_or(arn, |(_, rest)| rest)
}
