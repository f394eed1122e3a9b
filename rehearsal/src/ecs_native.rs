//! The rehearsal's ECS-native deployments (Amazon ECS's own blue/green, no CodeDeploy): ECS scales
//! green up, shifts test traffic to it through the test listener rule (which asks for a header and
//! a host), and calls the hook, which answers with its verdict. A healthy green goes on to
//! production; a broken one is rolled back, and the rollback's own hook calls are answered at once.
//!
//! And a `CANARY` deployment's step judged on its real traffic ([`ecs_native_canary`]): with green
//! at 10% of production, the step's first call checks green through the test listener rule and
//! answers `IN_PROGRESS` until whole minutes of its traffic can be read; ECS's next call of the
//! step (made as if the step had begun ten minutes earlier, the ALB's counts of those minutes
//! simulated, since nothing here waits) judges green against blue over the same minutes, and ECS
//! rolls back a green that errs beyond blue.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use stand_in::fixtures::ecs_native;
use stand_in::{
    Answer, EcsService, HookProcess, HttpTarget, LocalAws, Rig, RuntimeOutcome, TargetGroupRequests, TestRule,
};

use crate::rehearsed::{Rehearsed, clock, seconds, summary_story};
use stand_in::kit::minutes_ago;

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
    let ecs = Hooked {
        aws: &aws,
        hook: &hook,
        service: &service,
    };
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

    let first = ecs.status("POST_TEST_TRAFFIC_SHIFT", None, None, 1, &mut lines).await;
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
        let second = ecs
            .status("PRODUCTION_TRAFFIC_SHIFT", Some(100.0), None, 2, &mut lines)
            .await;
        lines.push(match second.as_deref() {
            Some("SUCCEEDED") => "ECS: deployment complete, green serves production".into(),
            _ => "ECS: deployment failed, rolled back to blue".into(),
        });
        second
    } else {
        lines.push("ECS: the hook failed: rolling back, test traffic returns to blue".into());
        aws.shift_test_traffic(&service, false);
        let rollback = ecs.status("TEST_TRAFFIC_SHIFT", Some(0.0), None, 2, &mut lines).await;
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

/// The service's own entry in its hook's `hookDetails`: green's check through the test listener
/// rule, and green judged on its real traffic with every default of the judge.
fn checked_and_judged() -> Value {
    json!({"preflight": {"checks": [{"path": "/healthcheck"}], "canary": {}}})
}

/// Green's share of production traffic at the canary step, in percent.
const CANARY_PERCENT: f64 = 10.0;
/// The production requests the ALB counted in the step's ten minutes, to green and to blue.
const GREEN_REQUESTS: u32 = 400;
const BLUE_REQUESTS: u32 = 3600;
/// Green answers one production request in this many with a 5xx.
const GREEN_FAILS_ONE_IN: u32 = 5;
/// How long before ECS's next call the rehearsal has the step begin.
const STEP_MINUTES: u64 = 10;

/// A `CANARY` deployment's first step, green at 10%: green passes its synthetic check, but fails
/// one production request in five; the step's first call answers `IN_PROGRESS`, its next one
/// (the step begun ten minutes earlier) judges green against blue, and ECS rolls back.
pub async fn ecs_native_canary(bootstrap: &Path) -> std::io::Result<Rehearsed> {
    let green = HttpTarget::start(&[("/healthcheck", Answer::Status(200))]).await?;
    let Rig { aws, hook } = Rig::start(bootstrap, &[]).await?;
    let service = aws.add_ecs_service(green.port(), test_rule());
    // The stand-in's first ECS-native service: the load balancer and target groups the ALB's
    // metrics are published under.
    let names = ecs_native(1);
    if service != names.service() {
        return Err(std::io::Error::other(
            "the stand-in's ECS-native service is not the fixtures' first: its traffic cannot be simulated",
        ));
    }
    let ecs = Hooked {
        aws: &aws,
        hook: &hook,
        service: &service,
    };
    let mut lines = vec![
        format!(
            "ECS: service checkout deploys revision {} (CANARY: {CANARY_PERCENT}% of production first, then all of \
             it); lifecycle hook preflight at PRODUCTION_TRAFFIC_SHIFT",
            short(&service.green_revision)
        ),
        "  hookDetails.preflight: GET /healthcheck must answer 200-399; canary: {} (green judged on its real \
         traffic at each step)"
            .to_string(),
        format!("  (green answers /healthcheck with 200, but 1 production request in {GREEN_FAILS_ONE_IN} with a 503)"),
        "ECS: scale up, then test traffic shift: the test listener rule (Host test.checkout.example, \
         X-Preflight-Green: 1, /healthcheck, /api/*) now forwards to green"
            .to_string(),
    ];
    aws.shift_test_traffic(&service, true);
    lines.push(format!(
        "ECS: production traffic shift, canary step: green {CANARY_PERCENT}%, blue {}%",
        100.0 - CANARY_PERCENT
    ));

    let step = "PRODUCTION_TRAFFIC_SHIFT";
    let first = ecs
        .call(step, Some(CANARY_PERCENT), Some(checked_and_judged()), 1, &mut lines)
        .await;
    let first_status = status_of(first.as_ref());
    if first_status.as_deref() != Some("IN_PROGRESS") {
        lines.push(match first_status.as_deref() {
            Some("SUCCEEDED") => "ECS: the step passed without waiting for green's traffic".into(),
            _ => "ECS: the step failed before green's traffic was judged: rolling back to blue".into(),
        });
        return Ok(canary_rehearsed(lines, first_status, hook.lines()));
    }
    let first = first.unwrap_or_default();
    let kept = &first["hookDetails"]["preflightCanary"];
    lines.push(format!(
        "ECS: IN_PROGRESS, callBackDelay {} s: ECS calls again then, with hookDetails.preflightCanary {kept} \
         merged into the hook's hookDetails",
        first["callBackDelay"]
    ));

    // The step's minutes, simulated into the ALB's metrics: the rehearsal cannot wait for them.
    let (from, to) = (minutes_ago(STEP_MINUTES), minutes_ago(0));
    lines.push(format!(
        "(the rehearsal cannot wait for minutes to settle: ECS's next call is made with the step having begun \
         {STEP_MINUTES} minutes earlier, at {} UTC, and the traffic of those minutes simulated)",
        clock(from)
    ));
    let load_balancer = dimension(&names.load_balancer, ":loadbalancer/", "");
    let simulate = |group: &str, requests: u32, five_xx_share: f64| {
        aws.simulate_target_group_traffic(
            &load_balancer,
            &dimension(group, ":targetgroup/", "targetgroup/"),
            from,
            to,
            TargetGroupRequests {
                requests,
                five_xx_share,
                latency: Duration::from_millis(80),
            },
        )
    };
    let on_green = simulate(
        &names.green_target_group,
        GREEN_REQUESTS,
        1.0 / f64::from(GREEN_FAILS_ONE_IN),
    );
    let on_blue = simulate(&names.blue_target_group, BLUE_REQUESTS, 0.0);
    lines.push(format!(
        "  production from {} to {} UTC (simulated into the ALB's metrics): green {} requests ({} answered 5xx), \
         blue {} ({} answered 5xx)",
        clock(from),
        clock(to),
        on_green.requests,
        on_green.five_xx,
        on_blue.requests,
        on_blue.five_xx
    ));
    lines.push(
        "  (preflight reads only the whole minutes that ended 3 min ago or more: CloudWatch's points settle)".into(),
    );

    let mut details = checked_and_judged();
    details["preflightCanary"] = kept.clone();
    details["preflightCanary"]["since"] = json!(seconds(from));
    let later = ecs.call(step, Some(CANARY_PERCENT), Some(details), 2, &mut lines).await;
    let later_status = status_of(later.as_ref());
    let statuses = match &later_status {
        Some(later) => format!("IN_PROGRESS, then {later}"),
        None => "IN_PROGRESS, then no answer".to_string(),
    };
    if later_status.as_deref() != Some("FAILED") {
        lines.push(match later_status.as_deref() {
            Some("SUCCEEDED") => "ECS: the step passed, production traffic moves on to green".into(),
            _ => "ECS: the step is still waiting for green's traffic".into(),
        });
        return Ok(canary_rehearsed(lines, Some(statuses), hook.lines()));
    }
    lines.push("ECS: the hook failed: rolling back, production traffic returns to blue".into());
    let rollback = ecs
        .status(step, Some(0.0), Some(checked_and_judged()), 3, &mut lines)
        .await;
    let reported = if rollback.as_deref() == Some("SUCCEEDED") {
        lines.push("ECS: rolled back, blue keeps production".into());
        statuses
    } else {
        lines.push("ECS: the rollback was held up by its own hook".into());
        format!(
            "{statuses}, then the rollback {}",
            rollback.as_deref().unwrap_or("not answered")
        )
    };
    Ok(canary_rehearsed(lines, Some(reported), hook.lines()))
}

fn canary_rehearsed(lines: Vec<String>, reported: Option<String>, logs: Vec<String>) -> Rehearsed {
    Rehearsed {
        title: format!(
            "ECS-native canary step (green at {CANARY_PERCENT}%) failing 1 request in {GREEN_FAILS_ONE_IN}: passes \
             its check, rolled back on its real traffic"
        ),
        lines,
        expected: "IN_PROGRESS, then FAILED",
        reported,
        logs,
    }
}

/// What follows `marker` in `arn`, `prefix` before it: CloudWatch's dimension of a load balancer
/// (`app/NAME/ID`) or a target group (`targetgroup/NAME/ID`).
fn dimension(arn: &str, marker: &str, prefix: &str) -> String {
    arn.split_once(marker)
        .map_or_else(|| arn.to_string(), |(_, rest)| format!("{prefix}{rest}"))
}

/// The hook calls of one ECS-native deployment: the stand-in, the hook process and the service.
struct Hooked<'a> {
    aws: &'a LocalAws,
    hook: &'a HookProcess,
    service: &'a EcsService,
}

impl Hooked<'_> {
    /// Calls the hook at `stage`, green at `green_production` percent of production traffic, with
    /// the hook's `hook_details`, and adds what preflight said to the story; the `nth` call's
    /// answer, whole.
    async fn call(
        &self,
        stage: &str,
        green_production: Option<f64>,
        hook_details: Option<Value>,
        nth: usize,
        lines: &mut Vec<String>,
    ) -> Option<Value> {
        lines.push(format!("ECS: {stage} hook → preflight"));
        let delivered = self
            .aws
            .deliver_payload(
                self.service.hook_event(stage, green_production, hook_details),
                HOOK_TIMEOUT,
            )
            .await;
        let answer = match delivered.outcome {
            RuntimeOutcome::Response(answer) => answer,
            other => {
                lines.push(format!("  preflight did not answer: {other:?}"));
                return None;
            }
        };
        if let Some(summary) = self.hook.wait_for_logged("ecs hook summary", nth).await.get(nth - 1) {
            lines.extend(summary_story(summary, "hook_status", "answered"));
        }
        Some(answer)
    }

    /// [`Hooked::call`]'s `hookStatus`.
    async fn status(
        &self,
        stage: &str,
        green_production: Option<f64>,
        hook_details: Option<Value>,
        nth: usize,
        lines: &mut Vec<String>,
    ) -> Option<String> {
        let answer = self.call(stage, green_production, hook_details, nth, lines).await;
        status_of(answer.as_ref())
    }
}

/// An answer's `hookStatus`.
fn status_of(answer: Option<&Value>) -> Option<String> {
    answer
        .and_then(|answer| answer.get("hookStatus"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// `…/checkout-1/2` of a revision ARN.
fn short(arn: &str) -> &str {
    arn.rsplit_once(":service-revision/").map_or(arn, |(_, rest)| rest)
}
