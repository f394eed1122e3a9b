//! The live judge through the real `bootstrap`: the schedule's payload, the deployments in
//! progress read from the stand-in's CodeDeploy, the split's traffic from its CloudWatch
//! (simulated into minutes of the past), and `CanaryFailing` published back to it, where the
//! deployment group's alarm evaluates it and CodeDeploy (the stand-in, as CodeDeploy does) stops
//! and rolls back the deployment. The run's decisions are tested in process, on the SDK's canned
//! answers: `src/codedeploy_hook/live/tests.rs`.

mod common;

use std::time::{Duration, SystemTime};

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use common::{HookRig as Rig, TIMEOUT};
use serde_json::{Value, json};
use stand_in::fixtures::{CURRENT_VERSION, FUNCTION, TARGET_VERSION};
use stand_in::kit::{lambda_canary_appspec, minutes_ago};
use stand_in::{
    AlarmStateValue, Deployment, DeploymentSpec, FunctionVersion, Lifecycle, MetricAlarm, Operation, Reply,
    RuntimeOutcome,
};

/// `my-api` checked before traffic moves and judged on its traffic, during the split too.
const CANARY: &str = "targets: [{function: my-api, checks: [{path: /healthcheck}], canary: {}}]";

const MINUTE: Duration = Duration::from_secs(60);

/// The schedule's payload at `time`, as the template's input transformer writes it.
fn schedule_at(time: SystemTime) -> Value {
    let time = DateTime::from(time).fmt(Format::DateTime).expect("a time");
    json!({"preflight": "judge-live", "time": time})
}

/// The start of a whole minute an hour ago: the story runs in the past, where CloudWatch (the
/// stand-in's too) takes datapoints, and every minute of it can settle.
fn an_hour_ago() -> SystemTime {
    minutes_ago(60)
}

/// A canary release of `my-api` from version 1 to the new version `new`, its alias `live`
/// sending a tenth of the traffic to it since `split_start`, and the deployment group's alarm on
/// `CanaryFailing` (as the README's alarm resource defines it).
fn splitting(rig: &Rig, new: FunctionVersion, split_start: SystemTime) -> Deployment {
    rig.aws
        .add_function(FUNCTION, CURRENT_VERSION, FunctionVersion::replying(Reply::Status(200)));
    rig.aws.add_function(FUNCTION, TARGET_VERSION, new);
    rig.aws
        .add_alias(FUNCTION, "live", CURRENT_VERSION, Some((TARGET_VERSION, 0.1)));
    let alarm = MetricAlarm::canary_failing(FUNCTION);
    let alarm_name = alarm.name.clone();
    rig.aws.put_metric_alarm(alarm);
    let appspec = lambda_canary_appspec(&[(FUNCTION, CURRENT_VERSION, TARGET_VERSION)]);
    rig.aws.create_deployment(
        DeploymentSpec::sam_lambda(appspec, &[&alarm_name])
            .lifecycle(Lifecycle::allowing_traffic(split_start).target_weight(0.1)),
    )
}

/// One run of the schedule at `time`: its answer, and its summary line.
async fn run_at(rig: &Rig, time: SystemTime, runs: usize) -> (Value, Value) {
    let answer = match rig.invoke(schedule_at(time), TIMEOUT).await {
        RuntimeOutcome::Response(answer) => answer,
        other => panic!("the live judge did not answer: {other:?}\n{:?}", rig.hook.lines()),
    };
    let summaries = rig.hook.wait_for_logged("live judge summary", runs).await;
    (answer, summaries[runs - 1].clone())
}

/// The `CanaryFailing` values the stand-in's CloudWatch received: (function, value).
fn canary_failing(rig: &Rig) -> Vec<(String, f64)> {
    rig.aws
        .put_metric_data_calls()
        .into_iter()
        .flat_map(|call| {
            assert_eq!(call.namespace, "preflight");
            call.data
        })
        .map(|datum| {
            assert_eq!(datum.metric_name, "CanaryFailing");
            let function = datum
                .dimensions
                .iter()
                .find(|(name, _)| name == "FunctionName")
                .map(|(_, value)| value.clone())
                .unwrap_or_default();
            (function, datum.value.unwrap_or(f64::NAN))
        })
        .collect()
}

#[tokio::test]
async fn a_failing_canary_is_stopped_and_rolled_back_mid_split_through_its_group_s_alarm() {
    let rig = Rig::start(&[("PREFLIGHT_CHECKS", CANARY)]).await;
    let split_start = an_hour_ago();
    let deployment = splitting(&rig, FunctionVersion::failing_every(6, Reply::Status(200)), split_start);
    rig.aws
        .simulate_alias_traffic(FUNCTION, "live", 3000, split_start, split_start + 10 * MINUTE)
        .await;

    let (answer, summary) = run_at(&rig, split_start + 14 * MINUTE, 1).await;

    assert_eq!(answer["judged"][0]["ruling"], "Fail", "{answer}");
    assert_eq!(canary_failing(&rig), [(FUNCTION.to_string(), 1.0)]);
    let alarm = rig.aws.alarm_state("my-api-canary-failing").expect("the alarm");
    assert_eq!(alarm.value, AlarmStateValue::Alarm, "{alarm:?}");
    let state = rig.aws.deployment_state(&deployment).expect("the deployment");
    assert_eq!(state.status, "Stopped", "{state:?}");
    assert_eq!(state.error.map(|error| error.code).as_deref(), Some("ALARM_ACTIVE"));
    // Rolled back: the alias sends everything to the old version again.
    let after = rig
        .aws
        .simulate_alias_traffic(
            FUNCTION,
            "live",
            100,
            split_start + 20 * MINUTE,
            split_start + 21 * MINUTE,
        )
        .await;
    assert_eq!(after.version(TARGET_VERSION).invocations, 0, "{after:?}");
    // The summary line carries the evidence and what was published.
    let judged = summary["judged"].as_str().unwrap_or_default();
    assert!(
        judged.contains("\"ruling\":\"Fail\"") && judged.contains("\"requests\":300"),
        "{summary}"
    );
    assert_eq!(
        summary["published"], "CanaryFailing{FunctionName=my-api}=1",
        "{summary}"
    );
}

#[tokio::test]
async fn a_healthy_canary_is_left_alone() {
    let rig = Rig::start(&[("PREFLIGHT_CHECKS", CANARY)]).await;
    let split_start = an_hour_ago();
    let deployment = splitting(&rig, FunctionVersion::replying(Reply::Status(200)), split_start);
    rig.aws
        .simulate_alias_traffic(FUNCTION, "live", 3000, split_start, split_start + 10 * MINUTE)
        .await;

    let (answer, _) = run_at(&rig, split_start + 14 * MINUTE, 1).await;

    assert_eq!(answer["judged"][0]["ruling"], "Pass", "{answer}");
    assert_eq!(canary_failing(&rig), [(FUNCTION.to_string(), 0.0)]);
    let alarm = rig.aws.alarm_state("my-api-canary-failing").expect("the alarm");
    assert_ne!(alarm.value, AlarmStateValue::Alarm, "{alarm:?}");
    let state = rig.aws.deployment_state(&deployment).expect("the deployment");
    assert_eq!(state.status, "InProgress", "{state:?}");
}

#[tokio::test]
async fn with_no_deployment_in_progress_a_run_is_one_list_call() {
    let rig = Rig::start(&[("PREFLIGHT_CHECKS", CANARY)]).await;

    let (answer, summary) = run_at(&rig, minutes_ago(0), 1).await;

    assert_eq!(answer["inProgress"], 0, "{answer}");
    assert_eq!(rig.aws.calls(Operation::ListDeployments), 1);
    for operation in [
        Operation::GetDeployment,
        Operation::ListDeploymentTargets,
        Operation::GetMetricData,
        Operation::PutMetricData,
    ] {
        assert_eq!(rig.aws.calls(operation), 0, "{operation:?}");
    }
    assert_eq!(summary["in_progress"], 0, "{summary}");
}

#[tokio::test]
async fn a_quiet_canary_s_traffic_goes_through_its_alias_split_by_its_weights_within_its_cap() {
    // 600 a minute, and a cap that leaves 40 after the 3 minutes CloudWatch cannot count yet
    // (1,800).
    let config = "targets: [{function: my-api, checks: [{path: /healthcheck}, {path: /orders, method: POST}], \
                  canary: {traffic: {per_minute: 600, max_requests: 1840}}}]";
    let rig = Rig::start(&[("PREFLIGHT_CHECKS", config)]).await;
    // A run on time (a late one sends no traffic): at the start of this minute, the split having
    // begun 14 minutes before, its first 10 minutes simulated.
    let now = minutes_ago(0);
    let split_start = now - 14 * MINUTE;
    let deployment = splitting(&rig, FunctionVersion::replying(Reply::Status(200)), split_start);
    rig.aws
        .simulate_alias_traffic(FUNCTION, "live", 100, split_start, split_start + 10 * MINUTE)
        .await;

    let (answer, summary) = run_at(&rig, now, 1).await;

    assert_eq!(answer["judged"][0]["ruling"], "Inconclusive", "{answer}");
    let sent: Vec<_> = rig
        .aws
        .invocations()
        .into_iter()
        .filter(|invocation| invocation.qualifier.as_deref() == Some("live"))
        .collect();
    assert_eq!(sent.len(), 40, "{summary}");
    assert!(
        sent.iter().all(|invocation| invocation.payload["httpMethod"] == "GET"),
        "never the POST check"
    );
    let on_new = sent
        .iter()
        .filter(|invocation| invocation.executed_version.as_deref() == Some(TARGET_VERSION))
        .count();
    assert_eq!(on_new, 4, "a tenth, by the alias's weights");
    assert_eq!(summary["synthetic_sent"], "my-api:live=40", "{summary}");
    let counted: f64 = rig
        .aws
        .put_metric_data_calls()
        .iter()
        .flat_map(|call| &call.data)
        .filter(|datum| datum.metric_name == "SyntheticRequests")
        .filter_map(|datum| datum.value)
        .sum();
    assert_eq!(counted, 40.0);
    assert_eq!(
        rig.aws.deployment_state(&deployment).expect("the deployment").status,
        "InProgress"
    );
}
