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

use crate::checks::announce::EventSettings;
use crate::checks::config::Config;
use crate::checks::setup::CheckSetup;
use crate::codedeploy_hook::Hook;
use crate::codedeploy_hook::canary::tests::{lambda_target, lifecycle};
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

/// One run of the schedule at `time`, answered from these rules, sending no verdict event.
async fn run_at(config: Config, time: SystemTime, codedeploy: &[&Rule], metrics: Option<&Rule>) -> Run {
    run_announcing(config, time, codedeploy, metrics, None).await
}

/// [`run_at`], with verdict events on and sent to `eventbridge` when it is given.
async fn run_announcing(
    config: Config,
    time: SystemTime,
    codedeploy: &[&Rule],
    metrics: Option<&Rule>,
    eventbridge: Option<&Rule>,
) -> Run {
    let metrics: Vec<&Rule> = metrics.into_iter().collect();
    run_announcing_with(config, time, codedeploy, &metrics, eventbridge).await
}

/// [`run_announcing`] with CloudWatch answering from the first of `metrics` that matches.
async fn run_announcing_with(
    config: Config,
    time: SystemTime,
    codedeploy: &[&Rule],
    metrics: &[&Rule],
    eventbridge: Option<&Rule>,
) -> Run {
    let (put, kept) = published();
    let mut cloudwatch = vec![&put];
    cloudwatch.extend(metrics);
    let mut clients = AwsClients::from_clients(canned::codedeploy(codedeploy), canned::lambda(&[]), canned::elb(&[]))
        .with_cloudwatch(canned::cloudwatch(&cloudwatch));
    let mut setup = CheckSetup::new(Ok(config));
    if let Some(eventbridge) = eventbridge {
        clients = clients.with_eventbridge(canned::eventbridge(&[eventbridge]));
        setup = setup.with_events(Ok(EventSettings::default()));
    }
    let time = crate::checks::canary::window::shown_time(time);
    let answer = Arc::new(Hook::new(Arc::new(setup)))
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
        metric_reads: metrics.iter().map(|rule| rule.num_calls()).sum(),
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

/// One run `minutes_in` minutes into the split of the one deployment in progress (`d-1`, at
/// `AllowTraffic`), whose new version fails `new_errors` of its requests; verdict events go to
/// `eventbridge` when it is given. Returns the run and the schedule's time.
async fn run_into_split(minutes_in: u64, new_errors: f64, eventbridge: Option<&Rule>) -> (Run, SystemTime) {
    let time = minutes_ago(0);
    let split_start = time - Duration::from_secs(minutes_in * 60);
    let [targets, batch] = lifecycle("AllowTraffic", (split_start, split_start));
    let (list, deployment, revision) = (in_progress(&[&["d-1"]]), deployment_named_by_sha(), revision_by_sha());
    let metrics = split_traffic(split_start, new_errors);
    let codedeploy = [&list, &deployment, &revision, &targets, &batch];
    let run = run_announcing(judging(), time, &codedeploy, Some(&metrics), eventbridge).await;
    (run, time)
}

#[tokio::test(start_paused = true)]
async fn a_failing_canary_in_its_split_publishes_1_for_its_function_at_the_schedule_s_time() {
    let (run, time) = run_into_split(12, 0.2, None).await;
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
    let (run, _) = run_into_split(12, 0.0, None).await;
    assert_eq!(run.answer["judged"][0]["ruling"], "Pass", "{}", run.answer);
    let published = canary_failing(&run.put);
    assert_eq!(
        published.iter().map(|(f, v, _)| (f.as_str(), *v)).collect::<Vec<_>>(),
        [(FUNCTION, 0.0)]
    );
}

#[tokio::test(start_paused = true)]
async fn a_split_too_young_to_read_is_inconclusive_publishes_0_and_reads_nothing() {
    let (run, _) = run_into_split(2, 0.5, None).await;
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

/// An entry judging `my-api` that sends it traffic, with a GET and a POST check.
fn judging_with_traffic(traffic: &str) -> Config {
    let checks = format!(
        "targets: [{{function: {FUNCTION}, checks: [{{path: /health}}, {{path: /orders, method: POST}}], \
         canary: {{traffic: {traffic}}}}}]"
    );
    Config::from_lookup(&|name| (name == "PREFLIGHT_CHECKS").then(|| checks.clone())).expect("config")
}

/// What each invocation was sent: its qualifier and its HTTP method.
type Sent = Arc<Mutex<Vec<(String, String)>>>;

/// Invoke answering 200, each request's qualifier and HTTP method kept.
fn invocations() -> (Rule, Sent) {
    let kept = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&kept);
    let rule = mock!(aws_sdk_lambda::Client::invoke).then_compute_output(move |request| {
        let payload: Value = request
            .payload()
            .and_then(|blob| serde_json::from_slice(blob.as_ref()).ok())
            .unwrap_or_default();
        keep.lock().expect("not poisoned").push((
            request.qualifier().unwrap_or_default().to_string(),
            payload["httpMethod"].as_str().unwrap_or_default().to_string(),
        ));
        aws_sdk_lambda::operation::invoke::InvokeOutput::builder()
            .status_code(200)
            .payload(aws_sdk_lambda::primitives::Blob::new(
                json!({"statusCode": 200}).to_string(),
            ))
            .build()
    });
    (rule, kept)
}

/// A quiet split (3 requests a minute on the new version, 27 on the old) that began twelve
/// minutes before the run.
fn quiet_split(split_start: SystemTime) -> Rule {
    let far = split_start + Duration::from_secs(3600);
    mock!(CloudWatch::get_metric_data).then_compute_output(answering(
        Served::during(split_start, far, 3.0, 0.0, 80.0),
        Served::during(split_start, far, 27.0, 0.0, 80.0),
    ))
}

struct Traffic {
    answer: Value,
    sent: Vec<(String, String)>,
    synthetic_published: f64,
    batch_calls: usize,
}

/// One run at a quiet split with `config`, the split ending (AllowTraffic no longer in progress)
/// after `splitting_answers` answers about the deployment's lifecycle.
async fn traffic_run(config: Config, splitting_answers: usize) -> Traffic {
    traffic_run_late(config, splitting_answers, Duration::ZERO).await
}

/// [`traffic_run`], its schedule time `late` behind the clock.
async fn traffic_run_late(config: Config, splitting_answers: usize, late: Duration) -> Traffic {
    // Twenty seconds into the minute before this one (never ahead of the clock, never late), so
    // that how many minutes have not settled is always the same.
    let time = minutes_ago(1) + Duration::from_secs(20) - late;
    let split_start = time - Duration::from_secs(12 * 60);
    let allow = (split_start, split_start);
    let targets = mock!(CodeDeploy::list_deployment_targets).then_output(|| {
        aws_sdk_codedeploy::operation::list_deployment_targets::ListDeploymentTargetsOutput::builder()
            .target_ids(FUNCTION)
            .build()
    });
    let batch = mock!(CodeDeploy::batch_get_deployment_targets)
        .sequence()
        .output(move || lambda_target("AllowTraffic", allow))
        .times(splitting_answers)
        .output(move || lambda_target("AfterAllowTraffic", (split_start, time)))
        .repeatedly()
        .build();
    let (list, deployment, revision) = (in_progress(&[&["d-1"]]), deployment_named_by_sha(), revision_by_sha());
    let metrics = quiet_split(split_start);
    let (invoke, kept) = invocations();
    let (put, published) = published();
    let clients = AwsClients::from_clients(
        canned::codedeploy(&[&list, &deployment, &revision, &targets, &batch]),
        canned::lambda(&[&invoke]),
        canned::elb(&[]),
    )
    .with_cloudwatch(canned::cloudwatch(&[&put, &metrics]));
    let shown = crate::checks::canary::window::shown_time(time);
    let answer = Arc::new(hook_with(Ok(config)))
        .judge_live(
            Arc::new(clients),
            &json!({"preflight": "judge-live", "time": shown}),
            Instant::now() + Duration::from_secs(60),
        )
        .await
        .expect("a readable payload");
    let synthetic_published = published
        .lock()
        .expect("not poisoned")
        .iter()
        .flat_map(|request| request.metric_data())
        .filter(|datum| datum.metric_name() == Some("SyntheticRequests"))
        .inspect(|datum| {
            let dimensions: Vec<_> = datum.dimensions().iter().map(|d| (d.name(), d.value())).collect();
            assert_eq!(dimensions, [(Some("FunctionName"), Some(FUNCTION))]);
        })
        .filter_map(|datum| datum.value())
        .sum();
    let sent = kept.lock().expect("not poisoned").clone();
    Traffic {
        answer,
        sent,
        synthetic_published,
        batch_calls: batch.num_calls(),
    }
}

#[tokio::test(start_paused = true)]
async fn a_quiet_canary_gets_a_minute_of_its_get_checks_through_the_alias_never_its_post() {
    let run = traffic_run(judging_with_traffic("{per_minute: 30}"), usize::MAX).await;
    assert_eq!(run.answer["judged"][0]["ruling"], "Inconclusive", "{}", run.answer);
    assert_eq!(run.sent.len(), 30, "a minute at the rate");
    assert!(
        run.sent
            .iter()
            .all(|(qualifier, method)| qualifier == "live" && method == "GET"),
        "{:?}",
        run.sent
    );
    assert_eq!(run.synthetic_published, 30.0, "counted for the next look");
    assert_eq!(
        run.answer["syntheticSent"],
        json!([["my-api:live", 30]]),
        "{}",
        run.answer
    );
}

#[tokio::test(start_paused = true)]
async fn a_post_is_sent_only_when_the_entry_names_it() {
    let run = traffic_run(
        judging_with_traffic("{per_minute: 30, methods: [GET, POST]}"),
        usize::MAX,
    )
    .await;
    let posts = run.sent.iter().filter(|(_, method)| method == "POST").count();
    assert_eq!((run.sent.len(), posts), (30, 15), "round robin over both checks");
}

#[tokio::test(start_paused = true)]
async fn traffic_stays_within_its_cap_across_the_split() {
    // CloudWatch counted no synthetic requests up to 3 to 4 minutes ago (the minutes that have
    // settled); each of the 4 minutes since, begun or whole, is taken to have had 30: 120 of the cap.
    let run = traffic_run(judging_with_traffic("{per_minute: 30, max_requests: 140}"), usize::MAX).await;
    assert_eq!(run.sent.len(), 20, "{}", run.answer);
    let spent = traffic_run(judging_with_traffic("{per_minute: 30, max_requests: 120}"), usize::MAX).await;
    assert_eq!(spent.sent.len(), 0, "{}", spent.answer);
}

#[tokio::test(start_paused = true)]
async fn traffic_stops_when_the_split_ends() {
    // The look, the first check before sending, then the split is over at the next check.
    let run = traffic_run(judging_with_traffic("{per_minute: 30}"), 2).await;
    assert_eq!(run.batch_calls, 3);
    // 30 a minute over at most 40 s is one every 1 1/3 s: 10 s hold 8 of them.
    assert_eq!(run.sent.len(), 8, "{:?}", run.answer);
    assert_eq!(
        run.synthetic_published, 30.0,
        "counted before sending: the cap never forgets"
    );
}

#[tokio::test(start_paused = true)]
async fn a_late_run_judges_its_minutes_but_sends_no_traffic() {
    let run = traffic_run_late(
        judging_with_traffic("{per_minute: 30}"),
        usize::MAX,
        Duration::from_secs(300),
    )
    .await;
    assert_eq!(run.answer["judged"][0]["ruling"], "Inconclusive", "{}", run.answer);
    assert_eq!((run.sent.len(), run.synthetic_published), (0, 0.0), "{}", run.answer);
}

#[tokio::test(start_paused = true)]
async fn traffic_that_cannot_be_counted_first_is_not_sent() {
    let time = minutes_ago(1) + Duration::from_secs(20);
    let split_start = time - Duration::from_secs(12 * 60);
    let [targets, batch] = lifecycle("AllowTraffic", (split_start, split_start));
    let (list, deployment, revision) = (in_progress(&[&["d-1"]]), deployment_named_by_sha(), revision_by_sha());
    let metrics = quiet_split(split_start);
    let (invoke, kept) = invocations();
    // CanaryFailing goes out; SyntheticRequests is refused.
    let put = mock!(CloudWatch::put_metric_data)
        .match_requests(|request| {
            request
                .metric_data()
                .iter()
                .any(|datum| datum.metric_name() == Some("SyntheticRequests"))
        })
        .then_http_response(|| HttpResponse::new(StatusCode::try_from(500).expect("a status"), SdkBody::from("{}")));
    let (accepted, _) = published();
    let clients = AwsClients::from_clients(
        canned::codedeploy(&[&list, &deployment, &revision, &targets, &batch]),
        canned::lambda(&[&invoke]),
        canned::elb(&[]),
    )
    .with_cloudwatch(canned::cloudwatch(&[&put, &accepted, &metrics]));
    let answer = Arc::new(hook_with(Ok(judging_with_traffic("{per_minute: 30}"))))
        .judge_live(
            Arc::new(clients),
            &json!({"preflight": "judge-live", "time": crate::checks::canary::window::shown_time(time)}),
            Instant::now() + Duration::from_secs(60),
        )
        .await
        .expect("a readable payload");
    assert!(kept.lock().expect("not poisoned").is_empty(), "nothing sent uncounted");
    assert!(
        answer["errors"].to_string().contains("could not be counted first"),
        "{answer}"
    );
}

/// PutEvents accepted, each event's detail kept.
fn events_kept() -> (Rule, Arc<Mutex<Vec<Value>>>) {
    let kept = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&kept);
    let rule = mock!(aws_sdk_eventbridge::Client::put_events).then_compute_output(move |request| {
        for entry in request.entries() {
            assert_eq!(
                (entry.source(), entry.detail_type()),
                (Some("preflight"), Some("Preflight Verdict"))
            );
            let detail = entry.detail().and_then(|detail| serde_json::from_str(detail).ok());
            keep.lock().expect("not poisoned").push(detail.unwrap_or_default());
        }
        aws_sdk_eventbridge::operation::put_events::PutEventsOutput::builder()
            .failed_entry_count(0)
            .entries(
                aws_sdk_eventbridge::types::PutEventsResultEntry::builder()
                    .event_id("e-1")
                    .build(),
            )
            .build()
    });
    (rule, kept)
}

#[tokio::test(start_paused = true)]
async fn the_team_is_told_of_a_failing_canary_with_its_evidence_and_of_nothing_else() {
    let (sent, events) = events_kept();
    run_into_split(12, 0.2, Some(&sent)).await;
    let events = events.lock().expect("not poisoned").clone();
    assert_eq!(events.len(), 1, "{events:?}");
    let detail = &events[0];
    assert_eq!(
        (&detail["flow"], &detail["deploymentId"], &detail["lifecycleEvent"]),
        (&json!("live_judge"), &json!("d-1"), &json!("AllowTraffic")),
        "{detail}"
    );
    assert_eq!(
        (&detail["status"], &detail["cause"]),
        (&json!("Failed"), &json!("ReleaseFailed"))
    );
    assert_eq!(detail["targets"][0]["judged"]["ruling"], "Fail", "{detail}");

    let (quiet, none) = events_kept();
    run_into_split(12, 0.0, Some(&quiet)).await;
    assert!(
        none.lock().expect("not poisoned").is_empty(),
        "a pass is no verdict to tell"
    );

    // Still failing a minute after a run that failed it (CodeDeploy has not stopped it yet):
    // that run told the team already.
    let (again, repeated) = events_kept();
    let time = minutes_ago(0);
    let split_start = time - Duration::from_secs(12 * 60);
    let [targets, batch] = lifecycle("AllowTraffic", (split_start, split_start));
    let (list, deployment, revision) = (in_progress(&[&["d-1"]]), deployment_named_by_sha(), revision_by_sha());
    let failed_before = mock!(CloudWatch::get_metric_data)
        .match_requests(|request| {
            request
                .metric_data_queries()
                .iter()
                .any(|query| query.id() == Some("failing0"))
        })
        .then_output(move || {
            aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput::builder()
                .metric_data_results(
                    aws_sdk_cloudwatch::types::MetricDataResult::builder()
                        .id("failing0")
                        .status_code(aws_sdk_cloudwatch::types::StatusCode::Complete)
                        .timestamps(aws_smithy_types::DateTime::from(split_start))
                        .values(1.0)
                        .build(),
                )
                .build()
        });
    let failing = split_traffic(split_start, 0.2);
    let codedeploy = [&list, &deployment, &revision, &targets, &batch];
    let run = run_announcing_with(judging(), time, &codedeploy, &[&failed_before, &failing], Some(&again)).await;
    assert_eq!(canary_failing(&run.put)[0].1, 1.0, "still failing");
    assert!(repeated.lock().expect("not poisoned").is_empty(), "told once");
    assert_eq!(failed_before.num_calls(), 1);
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
            traffic: None,
            split_start: minutes_ago(5),
        }
    };
    let data = super::canary_failing_data(
        &[judged("d-1", Ruling::Pass), judged("d-2", Ruling::Fail)],
        minutes_ago(0),
    );
    assert_eq!(data.len(), 1);
    assert_eq!(data[0].value, 1.0);
}

#[tokio::test(start_paused = true)]
async fn a_bad_configuration_is_the_run_s_error_and_asks_aws_nothing() {
    let list = in_progress(&[&["d-1"]]);
    let clients = AwsClients::from_clients(canned::codedeploy(&[&list]), canned::lambda(&[]), canned::elb(&[]));
    let bad = Config::from_lookup(&|name| (name == "CHECK_ATTEMPTS").then(|| "lots".to_string()));
    let answer = Arc::new(hook_with(bad))
        .judge_live(
            Arc::new(clients),
            &json!({"preflight": "judge-live"}),
            Instant::now() + Duration::from_secs(60),
        )
        .await
        .expect("a readable payload");
    assert!(answer["errors"].to_string().contains("CHECK_ATTEMPTS"), "{answer}");
    assert_eq!(list.num_calls(), 0);
}
