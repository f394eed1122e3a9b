//! `preflight judge` through its real binary: a deployment and a function's two versions judged
//! on the stand-in's CloudWatch (their traffic simulated into past minutes through a weighted
//! alias, so nothing waits), the exit codes a script gates on (0 Pass, 1 Fail, 3 Inconclusive, 2
//! usage), and a real CloudWatch implementation (moto's server) read through the SDK's own
//! protocol. Each run gets a clean environment: only what the test gives it.

use stand_in::kit::minutes_ago;
use std::process::Output;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use stand_in::fixtures::{
    CURRENT_VERSION, ECS_APPSPEC, ECS_CLUSTER, FUNCTION, TARGET_VERSION, ecs_target_group_name, lambda_release_appspec,
};
use stand_in::{
    DeploymentSpec, EcsTarget, FunctionVersion, Lifecycle, LocalAws, MotoServer, Reply, TargetGroupRequests,
};

async fn preflight(args: &[&str], env: &[(&str, String)]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_preflight"));
    command.args(args).env_clear();
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().await.expect("run preflight")
}

fn printed(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `endpoint` as the caller's AWS: region and made-up credentials.
fn aws_env(endpoint: String, checks: Option<&str>) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "local".into()),
        ("AWS_SECRET_ACCESS_KEY", "local".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ];
    if let Some(checks) = checks {
        env.push(("PREFLIGHT_CHECKS", checks.into()));
    }
    env
}

fn rfc3339(time: SystemTime) -> String {
    DateTime::from(time)
        .fmt(aws_sdk_cloudwatch::primitives::DateTimeFormat::DateTime)
        .expect("a time")
}

/// `judge` of `my-api`'s two versions behind `live` over `[from, to)`.
fn judge_versions(from: SystemTime, to: SystemTime) -> Vec<String> {
    [
        "judge",
        "--function",
        "my-api:live",
        "--new",
        TARGET_VERSION,
        "--old",
        CURRENT_VERSION,
        "--from",
        &rfc3339(from),
        "--to",
        &rfc3339(to),
    ]
    .map(str::to_string)
    .to_vec()
}

const JUDGED: &str = "targets: [{function: my-api, checks: [{path: /health}], canary: {bake_minutes: 0}}]";

/// `my-api`'s alias `live` sends a tenth of its traffic to the new version, which behaves as
/// `new` does; 3,000 invocations were made over ten minutes that ended five minutes ago.
async fn canary(new: FunctionVersion) -> (LocalAws, SystemTime, SystemTime) {
    let aws = LocalAws::start().await.expect("start the stand-in");
    aws.add_function(FUNCTION, CURRENT_VERSION, FunctionVersion::replying(Reply::Status(200)));
    aws.add_function(FUNCTION, TARGET_VERSION, new);
    aws.add_alias(FUNCTION, "live", CURRENT_VERSION, Some((TARGET_VERSION, 0.1)));
    let (from, to) = (minutes_ago(15), minutes_ago(5));
    aws.simulate_alias_traffic(FUNCTION, "live", 3000, from, to).await;
    (aws, from, to)
}

#[tokio::test]
async fn a_deployment_whose_new_version_fails_one_request_in_six_is_judged_fail_and_exits_1() {
    let (aws, from, to) = canary(FunctionVersion::failing_every(6, Reply::Status(200))).await;
    let deployment = aws.create_deployment(
        DeploymentSpec::lambda(lambda_release_appspec()).lifecycle(Lifecycle::after_allow_traffic(from, to)),
    );
    let output = preflight(
        &["judge", "--deployment", &deployment.id],
        &aws_env(aws.endpoint_url(), Some(JUDGED)),
    )
    .await;
    let said = printed(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("my-api:live: min_requests 100, bake 0 min"), "{said}");
    assert!(
        said.contains("  new version 2: 300 requests, 50 errors (16.7%), p99 "),
        "{said}"
    );
    assert!(
        said.contains("  old version 1: 2700 requests, 0 errors (0.0%)"),
        "{said}"
    );
    assert!(
        said.contains("  Fail: errors 50/300 (16.7%) against 0/2700 (0.0%) on version 1: higher beyond chance"),
        "{said}"
    );
    assert!(said.ends_with("judgement: Fail\n"), "{said}");
}

#[tokio::test]
async fn an_ecs_deployment_is_judged_on_its_task_sets_target_groups() {
    let aws = LocalAws::start().await.expect("start the stand-in");
    let (from, to) = (minutes_ago(15), minutes_ago(5));
    let deployment =
        aws.create_deployment(DeploymentSpec::ecs(ECS_APPSPEC).lifecycle(Lifecycle::after_allow_traffic(from, to)));
    // CloudWatch's dimensions of the two task sets' groups, behind the cluster's load balancer.
    let balancer = EcsTarget::new(ECS_CLUSTER, "checkout", "", "").load_balancer_arn();
    let balancer = balancer
        .split_once(":loadbalancer/")
        .expect("a load balancer ARN")
        .1
        .to_string();
    let group = |colour: &str| {
        let arn = EcsTarget::target_group_arn(&ecs_target_group_name(colour));
        format!(
            "targetgroup/{}",
            arn.split_once(":targetgroup/").expect("a target group ARN").1
        )
    };
    let load = |requests, five_xx_share| TargetGroupRequests {
        requests,
        five_xx_share,
        latency: Duration::from_millis(40),
    };
    aws.simulate_target_group_traffic(&balancer, &group("green"), from, to, load(400, 0.2));
    aws.simulate_target_group_traffic(&balancer, &group("blue"), from, to, load(3600, 0.0));
    let output = preflight(
        &["judge", "--deployment", &deployment.id],
        &aws_env(
            aws.endpoint_url(),
            Some("targets: [{service: checkout, checks: [{path: /}], canary: {}}]"),
        ),
    )
    .await;
    let said = printed(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("checkout: min_requests 100"), "{said}");
    assert!(
        said.contains("  Fail: errors 80/400 (20.0%) against 0/3600 (0.0%) on targetgroup/checkout-blue/"),
        "{said}"
    );
}

#[tokio::test]
async fn two_healthy_versions_pass_and_exit_0_with_the_default_settings_said() {
    let (aws, from, to) = canary(FunctionVersion::replying(Reply::Status(200))).await;
    let output = preflight(
        &judge_versions(from, to).iter().map(String::as_str).collect::<Vec<_>>(),
        &aws_env(aws.endpoint_url(), None),
    )
    .await;
    let said = printed(&output);
    assert_eq!(output.status.code(), Some(0), "{said}");
    assert!(
        said.contains("(the defaults: no entry's canary key chose it)"),
        "{said}"
    );
    assert!(
        said.contains("  Pass: errors 0/300 (0.0%) against 0/2700 (0.0%)"),
        "{said}"
    );
}

#[tokio::test]
async fn minutes_without_traffic_are_inconclusive_and_exit_3() {
    let (aws, from, _) = canary(FunctionVersion::replying(Reply::Status(200))).await;
    // The hour before the simulated traffic: nothing ran.
    let earlier = from - Duration::from_secs(3600);
    let output = preflight(
        &judge_versions(earlier, from)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        &aws_env(aws.endpoint_url(), Some(JUDGED)),
    )
    .await;
    let said = printed(&output);
    assert_eq!(output.status.code(), Some(3), "{said}");
    assert!(
        said.contains("  Inconclusive: too little traffic: version 2 had 0 requests"),
        "{said}"
    );
}

#[tokio::test]
async fn usage_errors_exit_2_saying_what_to_give() {
    let env = aws_env("http://127.0.0.1:9".into(), None);
    let without_alias = preflight(
        &[
            "judge",
            "--function",
            "my-api",
            "--new",
            "2",
            "--old",
            "1",
            "--from",
            "2026-12-07T10:00:00Z",
        ],
        &env,
    )
    .await;
    assert_eq!(without_alias.status.code(), Some(2));
    assert!(
        printed(&without_alias).contains("is not NAME:ALIAS"),
        "{}",
        printed(&without_alias)
    );
    let bad_time = preflight(
        &[
            "judge",
            "--function",
            "my-api:live",
            "--new",
            "2",
            "--old",
            "1",
            "--from",
            "yesterday",
        ],
        &env,
    )
    .await;
    assert_eq!(bad_time.status.code(), Some(2));
    assert!(printed(&bad_time).contains("RFC 3339"), "{}", printed(&bad_time));
    let nothing_named = preflight(&["judge"], &env).await;
    assert_eq!(nothing_named.status.code(), Some(2));
    let versions_missing = preflight(&["judge", "--function", "my-api:live"], &env).await;
    assert_eq!(versions_missing.status.code(), Some(2));
}

/// One version's counts put into moto's CloudWatch as Lambda publishes them.
fn datum(metric: &str, version: &str, at: SystemTime, value: f64) -> MetricDatum {
    let dimension = |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
    MetricDatum::builder()
        .metric_name(metric)
        .dimensions(dimension("FunctionName", FUNCTION))
        .dimensions(dimension("Resource", "my-api:live"))
        .dimensions(dimension("ExecutedVersion", version))
        .timestamp(DateTime::from(at))
        .value(value)
        .build()
}

#[tokio::test]
async fn a_real_cloudwatch_is_read_through_its_own_protocol() {
    let moto = MotoServer::shared().await.expect("moto's server");
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto.endpoint_url())
        .region("us-east-1")
        .credentials_provider(aws_sdk_cloudwatch::config::Credentials::new(
            "local", "local", None, None, "tests",
        ))
        .load()
        .await;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&config);
    // A function of its own: moto's server is shared by this binary's tests.
    let (from, to) = (minutes_ago(14), minutes_ago(4));
    let mut data = Vec::new();
    for minute in 0..10u32 {
        let at = from + Duration::from_secs(60 * u64::from(minute)) + Duration::from_secs(20);
        data.push(datum("Invocations", TARGET_VERSION, at, 30.0));
        data.push(datum("Invocations", CURRENT_VERSION, at, 270.0));
        if minute % 2 == 0 {
            data.push(datum("Errors", TARGET_VERSION, at, 9.0));
        }
    }
    for chunk in data.chunks(20) {
        cloudwatch
            .put_metric_data()
            .namespace("AWS/Lambda")
            .set_metric_data(Some(chunk.to_vec()))
            .send()
            .await
            .expect("PutMetricData");
    }
    let output = preflight(
        &judge_versions(from, to).iter().map(String::as_str).collect::<Vec<_>>(),
        &aws_env(moto.endpoint_url(), Some(JUDGED)),
    )
    .await;
    let said = printed(&output);
    // The counts went in and came back out through CloudWatch's RPC v2 CBOR. moto computes no
    // percentiles: latency cannot be judged, and the error rule decides on the counts alone.
    assert!(
        said.contains("  new version 2: 300 requests, 45 errors (15.0%), no p99"),
        "{said}"
    );
    assert!(
        said.contains("  old version 1: 2700 requests, 0 errors (0.0%), no p99"),
        "{said}"
    );
    assert!(
        said.contains("  Fail: errors 45/300 (15.0%) against 0/2700 (0.0%) on version 1: higher beyond chance"),
        "{said}"
    );
    assert_eq!(output.status.code(), Some(1), "{said}");
}
