//! The canary judge's data, read through the real SDK clients from the started stand-in: a
//! weighted alias's routing, simulated traffic read back from CloudWatch's GetMetricData (per
//! version, statistics, periods, pages, faults, refusals), a target group's counts, and the
//! deployment targets whose lifecycle says which hook is being called.

use stand_in::kit::minutes_ago;
use std::time::{Duration, SystemTime};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
use aws_sdk_cloudwatch::operation::get_metric_data::{GetMetricDataError, GetMetricDataOutput};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricDataResult, MetricStat, ScanBy, StatusCode};
use stand_in::kit::{ECS_APPSPEC, lambda_appspec};
use stand_in::{
    DeploymentSpec, Fault, FunctionVersion, Lifecycle, LocalAws, Operation, Reply, TargetGroupRequests, VersionTraffic,
};

const MINUTE: Duration = Duration::from_secs(60);

async fn sdk_config(aws: &LocalAws) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(aws.endpoint_url())
        .region("us-east-1")
        .credentials_provider(aws_sdk_cloudwatch::config::Credentials::new(
            "AKIASTANDIN000000000",
            "stand-in-secret-not-real",
            None,
            None,
            "canary-data-tests",
        ))
        .load()
        .await
}

async fn cloudwatch(aws: &LocalAws) -> aws_sdk_cloudwatch::Client {
    aws_sdk_cloudwatch::Client::new(&sdk_config(aws).await)
}

/// A CloudWatch client that gives up at the first error, to read it.
async fn cloudwatch_without_retries(aws: &LocalAws) -> aws_sdk_cloudwatch::Client {
    let config = aws_sdk_cloudwatch::config::Builder::from(&sdk_config(aws).await)
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_cloudwatch::Client::from_conf(config)
}

/// A query `id` for `stat` of `namespace`'s `metric` under exactly `dimensions`, per `period`.
fn query(
    id: &str,
    namespace: &str,
    metric: &str,
    dimensions: &[(&str, &str)],
    stat: &str,
    period: i32,
) -> MetricDataQuery {
    let dimensions = dimensions
        .iter()
        .map(|(name, value)| Dimension::builder().name(*name).value(*value).build())
        .collect();
    let metric = Metric::builder()
        .namespace(namespace)
        .metric_name(metric)
        .set_dimensions(Some(dimensions))
        .build();
    let stat = MetricStat::builder().metric(metric).period(period).stat(stat).build();
    MetricDataQuery::builder().id(id).metric_stat(stat).build()
}

/// A query of `my-api`'s alias `live`, as executed by `version`.
fn per_version(id: &str, metric: &str, version: &str, stat: &str, period: i32) -> MetricDataQuery {
    let dimensions = [
        ("FunctionName", "my-api"),
        ("Resource", "my-api:live"),
        ("ExecutedVersion", version),
    ];
    query(id, "AWS/Lambda", metric, &dimensions, stat, period)
}

async fn get(
    client: &aws_sdk_cloudwatch::Client,
    queries: Vec<MetricDataQuery>,
    from: SystemTime,
    to: SystemTime,
) -> Result<GetMetricDataOutput, aws_sdk_cloudwatch::error::SdkError<GetMetricDataError>> {
    client
        .get_metric_data()
        .set_metric_data_queries(Some(queries))
        .start_time(DateTime::from(from))
        .end_time(DateTime::from(to))
        .send()
        .await
}

/// The result of query `id`.
fn result<'a>(output: &'a GetMetricDataOutput, id: &str) -> &'a MetricDataResult {
    output
        .metric_data_results()
        .iter()
        .find(|result| result.id() == Some(id))
        .unwrap_or_else(|| panic!("no result {id} in {output:?}"))
}

fn times(result: &MetricDataResult) -> Vec<SystemTime> {
    result
        .timestamps()
        .iter()
        .map(|at| SystemTime::try_from(*at).expect("a time after 1970"))
        .collect()
}

/// `my-api` version 1 healthy, version 2 failing one invocation in six; alias `live` on 1 with
/// `share` of the invocations on 2.
fn canary(aws: &LocalAws, share: f64) {
    aws.add_function("my-api", "1", FunctionVersion::replying(Reply::Status(200)));
    aws.add_function("my-api", "2", FunctionVersion::failing_every(6, Reply::Status(200)));
    aws.add_alias("my-api", "live", "1", Some(("2", share)));
}

#[tokio::test]
async fn an_alias_at_ten_percent_routes_exactly_one_invocation_in_ten() {
    let aws = LocalAws::start().await.expect("start the stand-in");
    canary(&aws, 0.1);
    let lambda = aws_sdk_lambda::Client::new(&sdk_config(&aws).await);

    let mut executed = Vec::new();
    for n in 0..20 {
        // Half by the query string's qualifier, half by the qualifier in the name, as Lambda takes both.
        let request = if n % 2 == 0 {
            lambda.invoke().function_name("my-api").qualifier("live")
        } else {
            lambda.invoke().function_name("my-api:live")
        };
        let answer = request.send().await.expect("invoke the alias");
        executed.push(answer.executed_version().unwrap_or_default().to_string());
    }

    let on_two: Vec<usize> = (0..20).filter(|n| executed[*n] == "2").collect();
    assert_eq!(on_two, vec![5, 15], "{executed:?}");
    assert_eq!(aws.calls(Operation::Invoke), 20);
    assert!(aws.invocations().iter().all(|i| i.qualifier.as_deref() == Some("live")));

    // All on version 2 now: its 6th invocation overall (the 4th here) is a function error.
    aws.set_alias_routing("my-api", "live", "2", None);
    let mut errors = Vec::new();
    for _ in 0..4 {
        let answer = lambda
            .invoke()
            .function_name("my-api")
            .qualifier("live")
            .send()
            .await
            .expect("invoke the alias");
        assert_eq!(answer.executed_version(), Some("2"));
        errors.push(answer.function_error().map(str::to_string));
    }
    assert_eq!(errors, [None, None, None, Some("Unhandled".to_string())]);
}

#[tokio::test]
async fn simulated_traffic_is_read_back_per_version_with_errors_only_where_there_were_some() {
    let aws = LocalAws::start().await.expect("start the stand-in");
    canary(&aws, 0.5);
    let (from, to) = (minutes_ago(15), minutes_ago(5));

    let summary = aws.simulate_alias_traffic("my-api", "live", 1200, from, to).await;

    let count = |invocations, errors| VersionTraffic { invocations, errors };
    assert_eq!(summary.version("1"), count(600, 0));
    assert_eq!(summary.version("2"), count(600, 100));
    assert_eq!(aws.calls(Operation::Invoke), 0, "simulated traffic is not the hook's");
    let client = cloudwatch(&aws).await;
    let output = get(
        &client,
        vec![
            per_version("old_invocations", "Invocations", "1", "Sum", 600),
            per_version("old_errors", "Errors", "1", "Sum", 600),
            per_version("new_invocations", "Invocations", "2", "Sum", 600),
            per_version("new_errors", "Errors", "2", "Sum", 600),
            per_version("new_errors_by_minute", "Errors", "2", "Sum", 60),
        ],
        from,
        to,
    )
    .await
    .expect("GetMetricData");

    assert_eq!(result(&output, "old_invocations").values(), [600.0]);
    assert_eq!(times(result(&output, "old_invocations")), [from]);
    let old_errors = result(&output, "old_errors");
    assert!(
        old_errors.values().is_empty() && old_errors.timestamps().is_empty(),
        "a version without errors publishes no Errors at all: {old_errors:?}"
    );
    assert_eq!(old_errors.status_code(), Some(&StatusCode::Complete));
    assert_eq!(result(&output, "new_invocations").values(), [600.0]);
    assert_eq!(result(&output, "new_errors").values(), [100.0]);
    let by_minute = result(&output, "new_errors_by_minute");
    assert_eq!(by_minute.values(), [10.0; 10]);
    let expected: Vec<SystemTime> = (0..10).rev().map(|n| from + MINUTE * n).collect();
    assert_eq!(times(by_minute), expected, "newest first, by default");
    assert_eq!(by_minute.label(), Some("Errors"));

    // The same invocations without the version: only the exact dimension set matches.
    let alias_only = [("FunctionName", "my-api"), ("Resource", "my-api:live")];
    let function_and_version = [("FunctionName", "my-api"), ("ExecutedVersion", "2")];
    let output = get(
        &client,
        vec![
            query("alias", "AWS/Lambda", "Invocations", &alias_only, "Sum", 600),
            query("mixed", "AWS/Lambda", "Invocations", &function_and_version, "Sum", 600),
        ],
        from,
        to,
    )
    .await
    .expect("GetMetricData");
    assert_eq!(result(&output, "alias").values(), [1200.0]);
    assert!(result(&output, "mixed").values().is_empty());
}

#[tokio::test]
async fn percentiles_are_by_nearest_rank_and_durations_are_the_versions() {
    let aws = LocalAws::start().await.expect("start the stand-in");
    aws.add_function(
        "my-api",
        "1",
        FunctionVersion {
            delay: Duration::from_millis(20),
            ..FunctionVersion::replying(Reply::Status(200))
        },
    );
    aws.add_function(
        "my-api",
        "2",
        FunctionVersion {
            delay: Duration::from_millis(80),
            ..FunctionVersion::replying(Reply::Status(200))
        },
    );
    aws.add_alias("my-api", "live", "1", Some(("2", 0.25)));
    let (from, to) = (minutes_ago(10), minutes_ago(5));
    let started = std::time::Instant::now();
    aws.simulate_alias_traffic("my-api", "live", 400, from, to).await;
    assert!(started.elapsed() < Duration::from_secs(5), "simulated, not slept");
    let dimensions = [("Service", "checkout")];
    for value in 1..=100 {
        aws.record_metric("Shop", "Latency", &dimensions, "Milliseconds", from, f64::from(value));
    }

    let client = cloudwatch(&aws).await;
    let shop = |id: &str, stat: &str| query(id, "Shop", "Latency", &dimensions, stat, 300);
    let output = get(
        &client,
        vec![
            per_version("old_p99", "Duration", "1", "p99", 300),
            per_version("new_p99", "Duration", "2", "p99", 300),
            shop("p90", "p90"),
            shop("p99_9", "p99.9"),
            shop("p0", "p0"),
            shop("average", "Average"),
            shop("samples", "SampleCount"),
            shop("minimum", "Minimum"),
            shop("maximum", "Maximum"),
        ],
        from,
        to,
    )
    .await
    .expect("GetMetricData");

    let value = |id: &str| result(&output, id).values().to_vec();
    assert_eq!(value("old_p99"), [20.0]);
    assert_eq!(value("new_p99"), [80.0]);
    assert_eq!(value("p90"), [90.0]);
    assert_eq!(value("p99_9"), [100.0]);
    assert_eq!(value("p0"), [1.0]);
    assert_eq!(value("average"), [50.5]);
    assert_eq!(value("samples"), [100.0]);
    assert_eq!((value("minimum"), value("maximum")), (vec![1.0], vec![100.0]));
}

#[tokio::test]
async fn periods_count_from_the_start_time_rounded_down_to_the_minute() {
    let aws = LocalAws::start().await.expect("start the stand-in");
    let t = minutes_ago(20);
    let dimensions = [("Queue", "orders")];
    let second = Duration::from_secs(1);
    // Minutes 0, 1, 4 and 5 after t have samples; 2 and 3 have none.
    for (at, value) in [(10, 1.0), (70, 2.0), (119, 3.0), (250, 4.0), (310, 5.0), (900, 6.0)] {
        aws.record_metric("Shop", "Orders", &dimensions, "Count", t + second * at, value);
    }
    let client = cloudwatch(&aws).await;
    let two_minutes = query("orders", "Shop", "Orders", &dimensions, "Sum", 120);

    // A start 30 s into the minute is read from the minute's start.
    let output = client
        .get_metric_data()
        .metric_data_queries(two_minutes.clone())
        .start_time(DateTime::from(t + second * 30))
        .end_time(DateTime::from(t + MINUTE * 6))
        .scan_by(ScanBy::TimestampAscending)
        .send()
        .await
        .expect("GetMetricData");

    // Periods of two minutes from t (not from t + 30 s): the samples at 10, 70 and 119 s, none
    // from 120 to 240 s (so no datapoint), those at 250 and 310 s; 900 s is past the end.
    let orders = result(&output, "orders");
    assert_eq!(times(orders), [t, t + MINUTE * 4]);
    assert_eq!(orders.values(), [6.0, 9.0]);

    // By the minute, newest first: minutes 2 and 3 have no datapoint.
    let minute = query("orders", "Shop", "Orders", &dimensions, "Sum", 60);
    let output = get(&client, vec![minute], t, t + MINUTE * 6)
        .await
        .expect("GetMetricData");
    let orders = result(&output, "orders");
    assert_eq!(times(orders), [t + MINUTE * 5, t + MINUTE * 4, t + MINUTE, t]);
    assert_eq!(orders.values(), [5.0, 4.0, 5.0, 1.0]);
}

#[tokio::test]
async fn next_token_is_followed_across_small_pages() {
    let aws = LocalAws::start().await.expect("start the stand-in");
    canary(&aws, 0.5);
    let (from, to) = (minutes_ago(35), minutes_ago(5));
    aws.simulate_alias_traffic("my-api", "live", 600, from, to).await;
    aws.set_metric_page_size(7);
    let client = cloudwatch(&aws).await;
    let queries = vec![
        per_version("old", "Invocations", "1", "Sum", 60),
        per_version("new", "Invocations", "2", "Sum", 60),
    ];

    let pages: Vec<GetMetricDataOutput> = client
        .get_metric_data()
        .set_metric_data_queries(Some(queries.clone()))
        .start_time(DateTime::from(from))
        .end_time(DateTime::from(to))
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("every page");

    // 30 minutes of two versions: 60 datapoints, 7 a page.
    assert_eq!(pages.len(), 9);
    assert_eq!(aws.calls(Operation::GetMetricData), 9);
    for id in ["old", "new"] {
        let mut values = Vec::new();
        let mut stamps = Vec::new();
        for page in &pages {
            let part = result(page, id);
            values.extend_from_slice(part.values());
            stamps.extend(times(part));
        }
        assert_eq!(values, [10.0; 30], "{id}");
        let expected: Vec<SystemTime> = (0..30).rev().map(|n| from + MINUTE * n).collect();
        assert_eq!(stamps, expected, "{id}");
    }
    assert_eq!(result(&pages[0], "old").status_code(), Some(&StatusCode::PartialData));
    assert_eq!(result(&pages[8], "new").status_code(), Some(&StatusCode::Complete));
    assert!(pages[8].next_token().is_none());

    // A token is good only for the question it was handed out for.
    let token = pages[0].next_token().expect("a first page's token").to_string();
    let other_question = client
        .get_metric_data()
        .metric_data_queries(queries[0].clone())
        .start_time(DateTime::from(from))
        .end_time(DateTime::from(to))
        .next_token(token)
        .send()
        .await
        .expect_err("a token of another question");
    assert_eq!(other_question.code(), Some("InvalidNextToken"));
    assert!(matches!(
        other_question.into_service_error(),
        GetMetricDataError::InvalidNextToken(_)
    ));
    let made_up = client
        .get_metric_data()
        .set_metric_data_queries(Some(queries))
        .start_time(DateTime::from(from))
        .end_time(DateTime::from(to))
        .next_token("not-a-token")
        .send()
        .await
        .expect_err("a made-up token");
    assert_eq!(made_up.code(), Some("InvalidNextToken"));
}

#[tokio::test]
async fn faults_are_read_as_cloudwatch_s_error_codes() {
    let aws = LocalAws::start().await.expect("start the stand-in");
    let (from, to) = (minutes_ago(10), minutes_ago(5));
    let queries = || vec![per_version("errors", "Errors", "2", "Sum", 60)];
    let client = cloudwatch_without_retries(&aws).await;

    for (fault, code) in [
        (Fault::Throttle, "Throttling"),
        (Fault::AccessDenied, "AccessDenied"),
        (Fault::ServerError, "InternalServiceError"),
    ] {
        aws.inject(Operation::GetMetricData, fault, 1);
        let error = get(&client, queries(), from, to).await.expect_err("a fault");
        assert_eq!(error.code(), Some(code), "{error:?}");
        if fault == Fault::AccessDenied {
            assert!(error.message().unwrap_or_default().contains("cloudwatch:GetMetricData"));
        }
    }
    assert_eq!(aws.calls(Operation::GetMetricData), 3);

    // The SDK's own retries take Throttling for what it is, and try again.
    aws.inject(Operation::GetMetricData, Fault::Throttle, 1);
    let retrying = cloudwatch(&aws).await;
    get(&retrying, queries(), from, to)
        .await
        .expect("retried after throttling");
    assert_eq!(aws.calls(Operation::GetMetricData), 5);
}

#[tokio::test]
async fn invalid_queries_are_refused_with_validation_errors() {
    let aws = LocalAws::start().await.expect("start the stand-in");
    let (from, to) = (minutes_ago(10), minutes_ago(5));
    let client = cloudwatch_without_retries(&aws).await;
    let expression = MetricDataQuery::builder()
        .id("rate")
        .expression("errors / invocations")
        .build();

    for (queries, says) in [
        (vec![per_version("half", "Errors", "2", "Sum", 30)], "Period"),
        (
            vec![per_version("trimmed", "Errors", "2", "tm99", 60)],
            "not a valid statistic",
        ),
        (vec![per_version("Upper", "Errors", "2", "Sum", 60)], "expected pattern"),
        (vec![expression], "Expression"),
    ] {
        let error = get(&client, queries, from, to).await.expect_err("refused");
        assert_eq!(error.code(), Some("ValidationError"), "{error:?}");
        assert!(error.message().unwrap_or_default().contains(says), "{error:?}");
    }
    let backwards = get(&client, vec![per_version("a", "Errors", "2", "Sum", 60)], to, from)
        .await
        .expect_err("refused");
    assert_eq!(backwards.code(), Some("ValidationError"));
}

#[tokio::test]
async fn a_target_group_counts_5xx_only_when_there_were_some() {
    let aws = LocalAws::start().await.expect("start the stand-in");
    let load_balancer = "app/shop/50dc6c495c0c9188";
    let (green, blue) = (
        "targetgroup/checkout-green/73e2d6bc24d8a067",
        "targetgroup/checkout-blue/73e2d6bc24d8a067",
    );
    let (from, to) = (minutes_ago(15), minutes_ago(5));
    let load = |five_xx_share| TargetGroupRequests {
        requests: 600,
        five_xx_share,
        latency: Duration::from_millis(250),
    };
    let counted = aws.simulate_target_group_traffic(load_balancer, green, from, to, load(0.05));
    assert_eq!((counted.requests, counted.five_xx), (600, 30));
    aws.simulate_target_group_traffic(load_balancer, blue, from, to, load(0.0));

    let client = cloudwatch(&aws).await;
    let elb = |id: &str, metric: &str, group: &str, stat: &str, period: i32| {
        let dimensions = [("LoadBalancer", load_balancer), ("TargetGroup", group)];
        query(id, "AWS/ApplicationELB", metric, &dimensions, stat, period)
    };
    let output = get(
        &client,
        vec![
            elb("green_requests", "RequestCount", green, "Sum", 600),
            elb("green_5xx", "HTTPCode_Target_5XX_Count", green, "Sum", 60),
            elb("green_p99", "TargetResponseTime", green, "p99", 600),
            elb("blue_requests", "RequestCount", blue, "Sum", 600),
            elb("blue_5xx", "HTTPCode_Target_5XX_Count", blue, "Sum", 600),
        ],
        from,
        to,
    )
    .await
    .expect("GetMetricData");

    assert_eq!(result(&output, "green_requests").values(), [600.0]);
    assert_eq!(result(&output, "green_5xx").values(), [3.0; 10]);
    assert_eq!(result(&output, "green_p99").values(), [0.25], "seconds");
    assert_eq!(result(&output, "blue_requests").values(), [600.0]);
    assert!(result(&output, "blue_5xx").values().is_empty(), "no zero counts");
}

/// `at` to the millisecond, as CodeDeploy's timestamps carry it.
fn millis(at: SystemTime) -> u128 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis()
}

fn millis_of(at: Option<&DateTime>) -> Option<u128> {
    at.map(|at| millis(SystemTime::try_from(*at).expect("after 1970")))
}

#[tokio::test]
async fn deployment_targets_report_the_lifecycle_as_set() {
    let aws = LocalAws::start().await.expect("start the stand-in");
    let deployment = aws.create_deployment(DeploymentSpec::lambda(lambda_appspec(&[("my-api", "1", "2")])));
    let codedeploy = aws_sdk_codedeploy::Client::new(&sdk_config(&aws).await);
    let lambda_target = |targets: &[aws_sdk_codedeploy::types::DeploymentTarget]| {
        assert_eq!(targets.len(), 1);
        targets[0].lambda_target().expect("a Lambda target").clone()
    };

    let listed = codedeploy
        .list_deployment_targets()
        .deployment_id(&deployment.id)
        .send()
        .await
        .expect("ListDeploymentTargets");
    assert_eq!(listed.target_ids(), ["my-api"]);
    let before = codedeploy
        .batch_get_deployment_targets()
        .deployment_id(&deployment.id)
        .target_ids("my-api")
        .send()
        .await
        .expect("BatchGetDeploymentTargets");
    let target = lambda_target(before.deployment_targets());
    let in_progress: Vec<&str> = target
        .lifecycle_events()
        .iter()
        .filter(|event| event.status().map(|s| s.as_str()) == Some("InProgress"))
        .filter_map(|event| event.lifecycle_event_name())
        .collect();
    assert_eq!(
        in_progress,
        ["BeforeAllowTraffic"],
        "by default, preflight's first hook"
    );

    let (start, end) = (minutes_ago(12) + Duration::from_millis(250), minutes_ago(2));
    aws.set_lifecycle(&deployment, Lifecycle::after_allow_traffic(start, end));
    let after = codedeploy
        .batch_get_deployment_targets()
        .deployment_id(&deployment.id)
        .target_ids("my-api")
        .send()
        .await
        .expect("BatchGetDeploymentTargets");

    let target = lambda_target(after.deployment_targets());
    assert_eq!(
        after.deployment_targets()[0]
            .deployment_target_type()
            .map(|t| t.as_str()),
        Some("LambdaTarget")
    );
    assert_eq!(target.target_id(), Some("my-api"));
    assert_eq!(target.deployment_id(), Some(deployment.id.as_str()));
    let events: Vec<(&str, &str)> = target
        .lifecycle_events()
        .iter()
        .map(|event| {
            (
                event.lifecycle_event_name().unwrap_or_default(),
                event.status().map(|s| s.as_str()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [
            ("Start", "Succeeded"),
            ("BeforeAllowTraffic", "Succeeded"),
            ("AllowTraffic", "Succeeded"),
            ("AfterAllowTraffic", "InProgress"),
            ("End", "Pending"),
        ]
    );
    let allow = &target.lifecycle_events()[2];
    assert_eq!(millis_of(allow.start_time()), Some(millis(start)));
    assert_eq!(millis_of(allow.end_time()), Some(millis(end)));
    assert!(target.lifecycle_events()[3].end_time().is_none());
    assert!(target.lifecycle_events()[4].start_time().is_none());
    let info = target.lambda_function_info().expect("lambdaFunctionInfo");
    assert_eq!(
        (
            info.function_name(),
            info.function_alias(),
            info.current_version(),
            info.target_version()
        ),
        (Some("my-api"), Some("live"), Some("1"), Some("2"))
    );
    assert_eq!(info.target_version_weight(), 1.0);

    let single = codedeploy
        .get_deployment_target()
        .deployment_id(&deployment.id)
        .target_id("my-api")
        .send()
        .await
        .expect("GetDeploymentTarget");
    assert_eq!(
        single.deployment_target().and_then(|t| t.lambda_target()),
        Some(&target)
    );

    let unknown_target = codedeploy
        .batch_get_deployment_targets()
        .deployment_id(&deployment.id)
        .target_ids("other-function")
        .send()
        .await
        .expect_err("no such target");
    assert_eq!(
        aws_sdk_codedeploy::error::ProvideErrorMetadata::code(&unknown_target),
        Some("DeploymentTargetDoesNotExistException")
    );
    let unknown_deployment = codedeploy
        .list_deployment_targets()
        .deployment_id("d-NOSUCHONE")
        .send()
        .await
        .expect_err("no such deployment");
    assert_eq!(
        aws_sdk_codedeploy::error::ProvideErrorMetadata::code(&unknown_deployment),
        Some("DeploymentDoesNotExistException")
    );
}

#[tokio::test]
async fn an_ecs_deployment_s_target_has_blue_and_green_task_sets() {
    let aws = LocalAws::start().await.expect("start the stand-in");
    let deployment = aws.create_deployment(DeploymentSpec::ecs(ECS_APPSPEC));
    let (start, end) = (minutes_ago(12), minutes_ago(2));
    aws.set_lifecycle(&deployment, Lifecycle::after_allow_traffic(start, end));
    let codedeploy = aws_sdk_codedeploy::Client::new(&sdk_config(&aws).await);

    let listed = codedeploy
        .list_deployment_targets()
        .deployment_id(&deployment.id)
        .send()
        .await
        .expect("ListDeploymentTargets");
    assert_eq!(listed.target_ids(), ["shop:checkout"]);
    let described = codedeploy
        .batch_get_deployment_targets()
        .deployment_id(&deployment.id)
        .target_ids("shop:checkout")
        .send()
        .await
        .expect("BatchGetDeploymentTargets");

    let target = described.deployment_targets()[0].ecs_target().expect("an ECS target");
    let task_sets: Vec<(&str, &str, f64, &str)> = target
        .task_sets_info()
        .iter()
        .map(|set| {
            (
                set.task_set_label().map(|l| l.as_str()).unwrap_or_default(),
                set.target_group().and_then(|g| g.name()).unwrap_or_default(),
                set.traffic_weight(),
                set.status().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        task_sets,
        [
            ("Blue", "checkout-blue", 0.0, "ACTIVE"),
            ("Green", "checkout-green", 100.0, "PRIMARY")
        ]
    );
    assert!(target.task_sets_info().iter().all(|set| set.identifer().is_some()));
    let allow = target
        .lifecycle_events()
        .iter()
        .find(|event| event.lifecycle_event_name() == Some("AllowTraffic"))
        .expect("AllowTraffic");
    assert_eq!(millis_of(allow.start_time()), Some(millis(start)));
    assert_eq!(millis_of(allow.end_time()), Some(millis(end)));
}
