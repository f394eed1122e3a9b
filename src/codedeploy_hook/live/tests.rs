//! The live judge in process: CodeDeploy's canned deployments in progress and their lifecycle,
//! a canned CloudWatch answering `GetMetricData` from each version's traffic per minute, and
//! `PutMetricData` recorded. The schedule's time drives the windows.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::Client as CloudWatch;
use aws_sdk_cloudwatch::operation::put_metric_data::{PutMetricDataInput, PutMetricDataOutput};
use aws_sdk_codedeploy::Client as CodeDeploy;
use aws_sdk_codedeploy::operation::list_deployments::ListDeploymentsOutput;
use aws_sdk_codedeploy::types::DeploymentStatus;
use aws_smithy_mocks::{Rule, mock};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use serde_json::{Value, json};
use stand_in::fixtures::FUNCTION;
use stand_in::kit::minutes_ago;
use tokio::time::Instant;

use crate::checks::config::Config;
use crate::codedeploy_hook::canary::tests::lifecycle;
use crate::codedeploy_hook::tests::{deployment_named_by_sha, hook_with, revision_by_sha};
use crate::plumbing::aws::canned::{Served, answering};
use crate::plumbing::aws::{AwsClients, canned};

/// A configuration whose one entry judges `my-api` with `canary: {}`.
fn judging() -> Config {
    let checks = format!("targets: [{{function: {FUNCTION}, checks: [{{path: /health}}], canary: {{}}}}]");
    Config::from_lookup(&|name| (name == "PREFLIGHT_CHECKS").then(|| checks.clone())).expect("config")
}

/// ListDeployments answering `pages` of ids in turn, each page but the last with a token; it
/// asks only for deployments in progress, in the whole account.
fn in_progress(pages: &'static [&'static [&'static str]]) -> Rule {
    mock!(CodeDeploy::list_deployments)
        .match_requests(|request| {
            request.include_only_statuses() == [DeploymentStatus::InProgress] && request.application_name().is_none()
        })
        .then_compute_output(move |request| {
            let page = request
                .next_token()
                .and_then(|token| token.parse::<usize>().ok())
                .unwrap_or(0);
            let ids = pages.get(page).copied().unwrap_or_default();
            let next = (page + 1 < pages.len()).then(|| (page + 1).to_string());
            ListDeploymentsOutput::builder()
                .set_deployments(Some(ids.iter().map(|id| id.to_string()).collect()))
                .set_next_token(next)
                .build()
        })
}

/// PutMetricData accepted, each request kept.
fn published() -> (Rule, Arc<Mutex<Vec<PutMetricDataInput>>>) {
    let kept = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&kept);
    let rule = mock!(CloudWatch::put_metric_data).then_compute_output(move |request| {
        keep.lock().expect("not poisoned").push(request.clone());
        PutMetricDataOutput::builder().build()
    });
    (rule, kept)
}

struct Run {
    answer: Value,
    put: Vec<PutMetricDataInput>,
    metric_reads: usize,
}

/// One run of the schedule at `time`, answered from these rules.
async fn run_at(config: Config, time: SystemTime, codedeploy: &[&Rule], metrics: Option<&Rule>) -> Run {
    let (put, kept) = published();
    let mut cloudwatch = vec![&put];
    cloudwatch.extend(metrics);
    let clients = AwsClients::from_clients(canned::codedeploy(codedeploy), canned::lambda(&[]), canned::elb(&[]))
        .with_cloudwatch(canned::cloudwatch(&cloudwatch));
    let time = crate::checks::canary::window::shown_time(time);
    let answer = Arc::new(hook_with(Ok(config)))
        .judge_live(
            Arc::new(clients),
            &json!({"preflight": "judge-live", "time": time}),
            Instant::now() + Duration::from_secs(60),
        )
        .await
        .expect("a readable payload");
    let put = kept.lock().expect("not poisoned").clone();
    Run {
        answer,
        put,
        metric_reads: metrics.map_or(0, Rule::num_calls),
    }
}

/// Each `CanaryFailing` value published: (function, value, timestamp).
fn canary_failing(put: &[PutMetricDataInput]) -> Vec<(String, f64, SystemTime)> {
    put.iter()
        .inspect(|request| assert_eq!(request.namespace(), Some("preflight")))
        .flat_map(|request| request.metric_data())
        .map(|datum| {
            assert_eq!(datum.metric_name(), Some("CanaryFailing"));
            let dimensions: Vec<(&str, &str)> = datum
                .dimensions()
                .iter()
                .map(|d| (d.name().unwrap_or_default(), d.value().unwrap_or_default()))
                .collect();
            assert_eq!(dimensions.len(), 1, "FunctionName alone: {dimensions:?}");
            assert_eq!(dimensions[0].0, "FunctionName");
            let at = SystemTime::try_from(*datum.timestamp().expect("a timestamp")).expect("a time");
            (dimensions[0].1.to_string(), datum.value().expect("a value"), at)
        })
        .collect()
}

/// A split that began twelve minutes before the run, the new version taking a tenth of
/// 300 requests a minute, failing `new_errors` of them.
fn split_traffic(split_start: SystemTime, new_errors: f64) -> Rule {
    let far = split_start + Duration::from_secs(3600);
    mock!(CloudWatch::get_metric_data).then_compute_output(answering(
        Served::during(split_start, far, 30.0, new_errors, 80.0),
        Served::during(split_start, far, 270.0, 0.0, 80.0),
    ))
}

#[tokio::test(start_paused = true)]
async fn a_failing_canary_in_its_split_publishes_1_for_its_function_at_the_schedule_s_time() {
    let time = minutes_ago(0);
    let split_start = time - Duration::from_secs(12 * 60);
    let [targets, batch] = lifecycle("AllowTraffic", (split_start, split_start));
    let (list, deployment, revision) = (in_progress(&[&["d-1"]]), deployment_named_by_sha(), revision_by_sha());
    let metrics = split_traffic(split_start, 0.2);
    let run = run_at(
        judging(),
        time,
        &[&list, &deployment, &revision, &targets, &batch],
        Some(&metrics),
    )
    .await;
    let published = canary_failing(&run.put);
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!((published[0].0.as_str(), published[0].1), (FUNCTION, 1.0));
    let stamped = published[0].2.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    let scheduled = time.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(stamped, scheduled, "stamped with the schedule's time");
    assert_eq!(run.answer["judged"][0]["ruling"], "Fail", "{}", run.answer);
    assert_eq!(run.answer["judged"][0]["deploymentId"], "d-1");
    assert_eq!(run.metric_reads, 1);
}

#[tokio::test(start_paused = true)]
async fn a_healthy_canary_publishes_0() {
    let time = minutes_ago(0);
    let split_start = time - Duration::from_secs(12 * 60);
    let [targets, batch] = lifecycle("AllowTraffic", (split_start, split_start));
    let (list, deployment, revision) = (in_progress(&[&["d-1"]]), deployment_named_by_sha(), revision_by_sha());
    let metrics = split_traffic(split_start, 0.0);
    let run = run_at(
        judging(),
        time,
        &[&list, &deployment, &revision, &targets, &batch],
        Some(&metrics),
    )
    .await;
    assert_eq!(run.answer["judged"][0]["ruling"], "Pass", "{}", run.answer);
    let published = canary_failing(&run.put);
    assert_eq!(
        published.iter().map(|(f, v, _)| (f.as_str(), *v)).collect::<Vec<_>>(),
        [(FUNCTION, 0.0)]
    );
}

#[tokio::test(start_paused = true)]
async fn a_split_too_young_to_read_is_inconclusive_publishes_0_and_reads_nothing() {
    let time = minutes_ago(0);
    let split_start = time - Duration::from_secs(2 * 60);
    let [targets, batch] = lifecycle("AllowTraffic", (split_start, split_start));
    let (list, deployment, revision) = (in_progress(&[&["d-1"]]), deployment_named_by_sha(), revision_by_sha());
    let metrics = split_traffic(split_start, 0.5);
    let run = run_at(
        judging(),
        time,
        &[&list, &deployment, &revision, &targets, &batch],
        Some(&metrics),
    )
    .await;
    assert_eq!(run.answer["judged"][0]["ruling"], "Inconclusive", "{}", run.answer);
    assert!(
        run.answer["judged"][0]["rule"]
            .as_str()
            .is_some_and(|rule| rule.contains("began too recently")),
        "{}",
        run.answer
    );
    assert_eq!(run.metric_reads, 0);
    assert_eq!(canary_failing(&run.put)[0].1, 0.0);
}

#[tokio::test(start_paused = true)]
async fn with_no_deployment_in_progress_a_run_is_one_list_call() {
    let list = in_progress(&[&[]]);
    let deployment = deployment_named_by_sha();
    let metrics = split_traffic(minutes_ago(12), 0.5);
    let run = run_at(judging(), minutes_ago(0), &[&list, &deployment], Some(&metrics)).await;
    assert_eq!(list.num_calls(), 1);
    assert_eq!((deployment.num_calls(), run.metric_reads, run.put.len()), (0, 0, 0));
    assert_eq!(run.answer["inProgress"], 0);
}

#[tokio::test(start_paused = true)]
async fn with_no_entry_judging_traffic_a_run_asks_aws_nothing() {
    let list = in_progress(&[&["d-1"]]);
    let checks = Config::from_lookup(&|name| {
        (name == "PREFLIGHT_CHECKS").then(|| "targets: [{checks: [{path: /health}]}]".to_string())
    })
    .expect("config");
    let run = run_at(checks, minutes_ago(0), &[&list], None).await;
    assert_eq!((list.num_calls(), run.put.len()), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_deployment_not_moving_traffic_is_passed_over() {
    let time = minutes_ago(0);
    let [targets, batch] = lifecycle("BeforeAllowTraffic", (time, time));
    let (list, deployment, revision) = (in_progress(&[&["d-1"]]), deployment_named_by_sha(), revision_by_sha());
    let metrics = split_traffic(minutes_ago(12), 0.5);
    let run = run_at(
        judging(),
        time,
        &[&list, &deployment, &revision, &targets, &batch],
        Some(&metrics),
    )
    .await;
    assert_eq!(run.answer["judged"], json!([]));
    assert_eq!((revision.num_calls(), run.metric_reads, run.put.len()), (0, 0, 0));
}

#[tokio::test(start_paused = true)]
async fn every_page_of_deployments_is_read_and_one_deployment_s_error_leaves_the_others_judged() {
    let time = minutes_ago(0);
    let split_start = time - Duration::from_secs(12 * 60);
    let [targets, batch] = lifecycle("AllowTraffic", (split_start, split_start));
    let list = in_progress(&[&["d-2"], &["d-1"]]);
    let (deployment, revision) = (deployment_named_by_sha(), revision_by_sha());
    // d-2 cannot be read: GetDeployment is denied for it.
    let denied = mock!(CodeDeploy::get_deployment)
        .match_requests(|request| request.deployment_id() == Some("d-2"))
        .then_http_response(|| {
            HttpResponse::new(
                StatusCode::try_from(400).expect("a status"),
                SdkBody::from(r#"{"__type": "AccessDeniedException", "message": "not allowed"}"#),
            )
        });
    let metrics = split_traffic(split_start, 0.2);
    let run = run_at(
        judging(),
        time,
        &[&list, &denied, &deployment, &revision, &targets, &batch],
        Some(&metrics),
    )
    .await;
    assert_eq!(list.num_calls(), 2, "both pages");
    assert_eq!(run.answer["judged"][0]["deploymentId"], "d-1", "{}", run.answer);
    let errors = run.answer["errors"].to_string();
    assert!(errors.contains("d-2") && errors.contains("AccessDenied"), "{errors}");
    assert_eq!(canary_failing(&run.put)[0].1, 1.0);
}

#[test]
fn a_function_failing_in_either_of_two_deployments_is_failing() {
    use crate::checks::canary::window::Window;
    use crate::checks::canary::{Judged, OnInconclusive, Ruling, TargetJudgement};
    let judged = |deployment: &str, ruling: Ruling| {
        let mut judged = Judged::unseen(
            "new".into(),
            "old".into(),
            Window::covering(minutes_ago(5), minutes_ago(1)),
            "why".into(),
        );
        judged.ruling = ruling;
        super::LiveJudgement {
            deployment_id: deployment.into(),
            deployment_group: "my-app/my-app-live".into(),
            function: FUNCTION.into(),
            judgement: TargetJudgement {
                target: format!("{FUNCTION}:live"),
                judged,
                on_inconclusive: OnInconclusive::Succeed,
            },
        }
    };
    let data = super::canary_failing_data(
        &[judged("d-1", Ruling::Pass), judged("d-2", Ruling::Fail)],
        minutes_ago(0),
    );
    assert_eq!(data.len(), 1);
    assert_eq!(data[0].value, 1.0);
}
