//! The rehearsal's built-in deployments: a healthy Lambda release, a broken one, an ECS release
//! checked through its test listener, and two releases checked by check definitions
//! (`PREFLIGHT_CHECKS`): one whose new version answers `200 {"status":"degraded"}`, one of an API
//! and a queue consumer together; two ECS-native blue/green releases ([`crate::ecs_native`]); two
//! Lambda canaries judged on their real traffic after it moved ([`crate::canary`]); one stopped
//! while its alias is split ([`crate::live`]); and an
//! ECS-native canary step judged on green's real traffic and rolled back
//! ([`crate::ecs_native::ecs_native_canary`]).
//! Each runs the real hook and tells the story a user would see in the console.

use std::path::Path;

use serde_json::json;

use stand_in::kit::{ECS_APPSPEC, lambda_appspec};
use stand_in::{Answer, DeploymentSpec, FunctionVersion, HttpTarget, Reply, Rig};

use crate::canary::lambda_canary;
use crate::ecs_native::{ecs_native_canary, ecs_native_release};
use crate::live::lambda_canary_stopped_mid_split;
use crate::rehearsed::{Rehearsed, Story, finish};

/// Runs every built-in scenario against `bootstrap`.
pub async fn rehearse_all(bootstrap: &Path) -> std::io::Result<Vec<Rehearsed>> {
    Ok(vec![
        lambda_release(
            bootstrap,
            "healthy Lambda release",
            1,
            2,
            Reply::Status(200),
            "Succeeded",
        )
        .await?,
        lambda_release(
            bootstrap,
            "broken Lambda release (the new version answers 500)",
            2,
            3,
            Reply::Status(500),
            "Failed",
        )
        .await?,
        ecs_release(bootstrap).await?,
        degraded_release(bootstrap).await?,
        two_function_release(bootstrap).await?,
        ecs_native_release(bootstrap, 200).await?,
        ecs_native_release(bootstrap, 500).await?,
        lambda_canary(bootstrap, false).await?,
        lambda_canary(bootstrap, true).await?,
        lambda_canary_stopped_mid_split(bootstrap).await?.0,
        ecs_native_canary(bootstrap).await?,
    ])
}

/// The check definitions of the degraded release: the health document must say `ok`.
const STATUS_MUST_BE_OK: &str = "targets:
  - function: my-api
    checks:
      - path: /health
        expect:
          status: 200
          json: {$.status: ok}
";

/// One hook for an API and its queue consumer, each with its own check.
const API_AND_CONSUMER: &str = r#"targets:
  - function: shop-api
    checks:
      - path: /health
        event_format: apigw-v2
        expect: {json: {$.status: ok}}
  - function: "shop-*-consumer"
    checks:
      - payload: {"source": "preflight"}
        expect: {json: {$.ok: true}}
"#;

async fn degraded_release(bootstrap: &Path) -> std::io::Result<Rehearsed> {
    let Rig { aws, hook } = Rig::start(
        bootstrap,
        &[("PREFLIGHT_CHECKS", STATUS_MUST_BE_OK), ("CHECK_INTERVAL_MS", "200")],
    )
    .await?;
    aws.add_function(
        "my-api",
        "4",
        FunctionVersion::replying(Reply::http_json(200, json!({"status": "ok"}))),
    );
    aws.add_function(
        "my-api",
        "5",
        FunctionVersion::replying(Reply::http_json(200, json!({"status": "degraded", "db": "timeout"}))),
    );
    let deployment = aws.create_deployment(DeploymentSpec::lambda(lambda_appspec(&[("my-api", "4", "5")])));
    let lines = vec![
        format!(
            "CodeDeploy: deployment {} of my-app/my-app-live (Lambda): my-api alias live, version 4 → 5",
            deployment.id
        ),
        r#"  PREFLIGHT_CHECKS: my-api GET /health must answer 200 with $.status = "ok""#.to_string(),
        r#"  (version 5 answers 200 {"status":"degraded"}: a status-code check alone would pass it)"#.to_string(),
    ];
    let story = Story {
        title: "degraded Lambda release (200 {\"status\":\"degraded\"}) caught by a JSON assertion".into(),
        expected: "Failed",
        hook_name: "BeforeAllowTraffic",
        lines,
        succeeded: "CodeDeploy: traffic shifted, alias live → version 5".into(),
        failed: "CodeDeploy: deployment failed, rolled back, alias live stays on version 4".into(),
    };
    Ok(finish(&aws, &hook, &deployment, story).await)
}

async fn two_function_release(bootstrap: &Path) -> std::io::Result<Rehearsed> {
    let Rig { aws, hook } = Rig::start(bootstrap, &[("PREFLIGHT_CHECKS", API_AND_CONSUMER)]).await?;
    aws.add_function(
        "shop-api",
        "7",
        FunctionVersion::replying(Reply::http_json(200, json!({"status": "ok"}))),
    );
    aws.add_function(
        "shop-orders-consumer",
        "3",
        FunctionVersion::replying(Reply::Json(json!({"ok": true, "batchItemFailures": []}))),
    );
    let deployment = aws.create_deployment(DeploymentSpec::lambda(lambda_appspec(&[
        ("shop-api", "6", "7"),
        ("shop-orders-consumer", "2", "3"),
    ])));
    let lines = vec![
        format!(
            "CodeDeploy: deployment {} of my-app/my-app-live (Lambda): shop-api 6 → 7, shop-orders-consumer 2 → 3",
            deployment.id
        ),
        "  PREFLIGHT_CHECKS: shop-api gets an HTTP API event GET /health, $.status = \"ok\"; \
         shop-*-consumer gets the raw payload {\"source\":\"preflight\"}, $.ok = true"
            .to_string(),
    ];
    let story = Story {
        title: "two-function release (API + queue consumer), one check each".into(),
        expected: "Succeeded",
        hook_name: "BeforeAllowTraffic",
        lines,
        succeeded: "CodeDeploy: traffic shifted, both aliases → the new versions".into(),
        failed: "CodeDeploy: deployment failed, rolled back, both aliases stay".into(),
    };
    Ok(finish(&aws, &hook, &deployment, story).await)
}

async fn lambda_release(
    bootstrap: &Path,
    title: &str,
    from: u32,
    to: u32,
    reply: Reply,
    expected: &'static str,
) -> std::io::Result<Rehearsed> {
    let Rig { aws, hook } = Rig::start(bootstrap, &[]).await?;
    aws.add_function(
        "my-api",
        &from.to_string(),
        FunctionVersion::replying(Reply::Status(200)),
    );
    aws.add_function("my-api", &to.to_string(), FunctionVersion::replying(reply));
    let versions = (from.to_string(), to.to_string());
    let deployment = aws.create_deployment(DeploymentSpec::lambda(lambda_appspec(&[(
        "my-api",
        &versions.0,
        &versions.1,
    )])));
    let lines = vec![format!(
        "CodeDeploy: deployment {} of my-app/my-app-live (Lambda): my-api alias live, version {from} → {to}",
        deployment.id
    )];
    let story = Story {
        title: title.into(),
        expected,
        hook_name: "BeforeAllowTraffic",
        lines,
        succeeded: format!("CodeDeploy: traffic shifted, alias live → version {to}"),
        failed: format!("CodeDeploy: deployment failed, rolled back, alias live stays on version {from}"),
    };
    Ok(finish(&aws, &hook, &deployment, story).await)
}

async fn ecs_release(bootstrap: &Path) -> std::io::Result<Rehearsed> {
    let tasks = HttpTarget::start(&[("/healthcheck", Answer::Status(200))]).await?;
    let port = tasks.port();
    // No ALB_URL: preflight finds the test listener from the deployment group.
    let Rig { aws, hook } = Rig::start(bootstrap, &[]).await?;
    let listener = aws.add_test_listener(port);
    let deployment = aws.create_deployment(DeploymentSpec::ecs(ECS_APPSPEC).test_listener(&listener));
    let lines = vec![
        format!(
            "CodeDeploy: deployment {} of my-app/my-app-live (ECS): service checkout, task definition :8, \
             replacement task set up",
            deployment.id
        ),
        format!("CodeDeploy: the group's test listener (port {port}) routes to the replacement tasks; no ALB_URL set"),
    ];
    let story = Story {
        title: "ECS release checked through the test listener preflight finds itself".into(),
        expected: "Succeeded",
        hook_name: "AfterAllowTestTraffic",
        lines,
        succeeded: "CodeDeploy: production traffic moves to the replacement task set".into(),
        failed: "CodeDeploy: deployment failed, rolled back to the original task set".into(),
    };
    Ok(finish(&aws, &hook, &deployment, story).await)
}
