//! Canned AWS answers for in-process tests: error responses in each protocol's own shape, so
//! that the SDK's real deserialisers read them as they would read AWS's, and mock clients
//! configured as production configures its clients.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::operation::get_metric_data::{GetMetricDataInput, GetMetricDataOutput};
use aws_sdk_cloudwatch::types::{MetricDataResult, StatusCode as MetricStatus};
use aws_sdk_codedeploy::config::http::HttpResponse;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::DateTime;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::RetryConfig;
use stand_in::fixtures::TARGET_VERSION;

fn response(status: u16, headers: &[(&str, &str)], body: String) -> HttpResponse {
    let mut response = HttpResponse::new(
        StatusCode::try_from(status).expect("a valid HTTP status"),
        SdkBody::from(body),
    );
    for (name, value) in headers {
        response.headers_mut().insert(name.to_string(), value.to_string());
    }
    response
}

/// CodeDeploy's awsJson1_1 error: `{"__type": CODE, "message": …}`.
pub(crate) fn json_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let body = serde_json::json!({"__type": code, "message": message}).to_string();
    response(status, &[("content-type", "application/x-amz-json-1.1")], body)
}

/// Lambda's restJson1 error: the code in `x-amzn-errortype`, the message in the body.
pub(crate) fn rest_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let body = serde_json::json!({"Type": "User", "Message": message}).to_string();
    response(
        status,
        &[("content-type", "application/json"), ("x-amzn-errortype", code)],
        body,
    )
}

/// ELBv2's awsQuery error document.
pub(crate) fn query_error(status: u16, code: &str, message: &str) -> HttpResponse {
    let body = format!(
        "<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\">\
         <Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
         <RequestId>6f0d0c5e-canned</RequestId></ErrorResponse>"
    );
    response(status, &[("content-type", "text/xml")], body)
}

/// CloudWatch's Smithy RPC v2 CBOR error: a CBOR map `{"__type": CODE, "message": …}`, and, the
/// service being query-compatible, the code again in `x-amzn-query-error`.
pub(crate) fn cbor_error(status: u16, code: &str, message: &str) -> HttpResponse {
    // Two text-string pairs in a two-entry map: short enough to encode by hand.
    fn text(out: &mut Vec<u8>, value: &str) {
        let length = value.len();
        if length < 24 {
            out.push(0x60 | length as u8);
        } else if length < 256 {
            out.extend([0x78, length as u8]);
        } else {
            out.push(0x79);
            out.extend((length as u16).to_be_bytes());
        }
        out.extend(value.as_bytes());
    }
    let mut body = vec![0xa2];
    text(&mut body, "__type");
    text(&mut body, code);
    text(&mut body, "message");
    text(&mut body, message);
    let mut response = HttpResponse::new(
        StatusCode::try_from(status).expect("a valid HTTP status"),
        SdkBody::from(body),
    );
    let query_error = format!("{code};Sender");
    for (name, value) in [
        ("content-type", "application/cbor"),
        ("smithy-protocol", "rpc-v2-cbor"),
        ("x-amzn-query-error", query_error.as_str()),
    ] {
        response.headers_mut().insert(name.to_string(), value.to_string());
    }
    response
}

/// A CloudWatch client answering from `rules`, retrying as production does.
pub(crate) fn cloudwatch(rules: &[&Rule]) -> aws_sdk_cloudwatch::Client {
    mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::MatchAny,
        rules.iter().copied(),
        |config| config.retry_config(super::retry_config())
    )
}

/// A CodeDeploy client answering from `rules` (any order), retrying as production does.
pub(crate) fn codedeploy(rules: &[&Rule]) -> aws_sdk_codedeploy::Client {
    mock_client!(
        aws_sdk_codedeploy,
        RuleMode::MatchAny,
        rules.iter().copied(),
        |config| config.retry_config(super::retry_config())
    )
}

/// A Lambda client answering from `rules`, with production's Lambda settings.
pub(crate) fn lambda(rules: &[&Rule]) -> aws_sdk_lambda::Client {
    mock_client!(aws_sdk_lambda, RuleMode::MatchAny, rules.iter().copied(), |config| {
        super::lambda_config(config.retry_config(RetryConfig::standard()))
    })
}

/// An ELBv2 client answering from `rules`, retrying as production does.
pub(crate) fn elb(rules: &[&Rule]) -> aws_sdk_elasticloadbalancingv2::Client {
    mock_client!(
        aws_sdk_elasticloadbalancingv2,
        RuleMode::MatchAny,
        rules.iter().copied(),
        |config| config.retry_config(super::retry_config())
    )
}

/// An EventBridge client answering from `rules`, retrying as production does.
pub(crate) fn eventbridge(rules: &[&Rule]) -> aws_sdk_eventbridge::Client {
    mock_client!(
        aws_sdk_eventbridge,
        RuleMode::MatchAny,
        rules.iter().copied(),
        |config| config.retry_config(super::retry_config())
    )
}

/// An ECS client answering from `rules`, retrying as production does.
pub(crate) fn ecs(rules: &[&Rule]) -> aws_sdk_ecs::Client {
    mock_client!(aws_sdk_ecs, RuleMode::MatchAny, rules.iter().copied(), |config| {
        config.retry_config(super::retry_config())
    })
}

/// An ECS deployment group as GetDeploymentGroup describes it, and as the stand-in's does (the
/// names are the shared fixtures'): service `checkout` in cluster `shop`, blue and green target
/// groups, a production listener, and `test_listener` as its test traffic route when given.
pub(crate) fn ecs_deployment_group(test_listener: Option<&str>) -> aws_sdk_codedeploy::types::DeploymentGroupInfo {
    use aws_sdk_codedeploy::types::{
        DeploymentGroupInfo, EcsService, LoadBalancerInfo, TargetGroupInfo, TargetGroupPairInfo, TrafficRoute,
    };
    use stand_in::fixtures::{
        APPLICATION, DEPLOYMENT_GROUP, ECS_CLUSTER, ECS_SERVICE, ecs_production_listener, ecs_target_group_name,
    };
    let mut pair = TargetGroupPairInfo::builder()
        .target_groups(TargetGroupInfo::builder().name(ecs_target_group_name("blue")).build())
        .target_groups(TargetGroupInfo::builder().name(ecs_target_group_name("green")).build())
        .prod_traffic_route(TrafficRoute::builder().listener_arns(ecs_production_listener()).build());
    if let Some(arn) = test_listener {
        pair = pair.test_traffic_route(TrafficRoute::builder().listener_arns(arn).build());
    }
    DeploymentGroupInfo::builder()
        .application_name(APPLICATION)
        .deployment_group_name(DEPLOYMENT_GROUP)
        .compute_platform(aws_sdk_codedeploy::types::ComputePlatform::Ecs)
        .ecs_services(
            EcsService::builder()
                .service_name(ECS_SERVICE)
                .cluster_name(ECS_CLUSTER)
                .build(),
        )
        .load_balancer_info(
            LoadBalancerInfo::builder()
                .target_group_pair_info_list(pair.build())
                .build(),
        )
        .build()
}

/// What one version served: `per_minute` requests in every minute of `[from, to)`, a share of
/// them errors, at a p99.
#[derive(Clone, Copy)]
pub(crate) struct Served {
    per_minute: f64,
    error_share: f64,
    p99_ms: f64,
    from: SystemTime,
    to: SystemTime,
}

impl Served {
    pub(crate) fn during(from: SystemTime, to: SystemTime, per_minute: f64, error_share: f64, p99_ms: f64) -> Served {
        Served {
            per_minute,
            error_share,
            p99_ms,
            from,
            to,
        }
    }

    /// Minutes of `[start, end)` in which this version served.
    fn minutes_in(&self, start: SystemTime, end: SystemTime) -> f64 {
        let from = start.max(self.from);
        let to = end.min(self.to);
        to.duration_since(from).map_or(0.0, |d| d.as_secs_f64() / 60.0)
    }
}

/// GetMetricData answered from each version's traffic, as CloudWatch would for these series: each
/// period's sum over the minutes asked, a count only when it is not zero. The new version is
/// Lambda's [`TARGET_VERSION`] or ECS's green target group (`…-green/…`).
pub(crate) fn cloudwatch_serving(new: Served, old: Served) -> Rule {
    mock!(aws_sdk_cloudwatch::Client::get_metric_data).then_compute_output(answering(new, old))
}

/// What CloudWatch answers to a request for these versions' series.
pub(crate) fn answering(
    new: Served,
    old: Served,
) -> impl Fn(&GetMetricDataInput) -> GetMetricDataOutput + Send + Sync + 'static {
    move |request: &GetMetricDataInput| {
        let start = SystemTime::try_from(*request.start_time().expect("StartTime")).expect("a time");
        let end = SystemTime::try_from(*request.end_time().expect("EndTime")).expect("a time");
        let mut output = GetMetricDataOutput::builder();
        for query in request.metric_data_queries() {
            let id = query.id().expect("an id");
            let stat = query.metric_stat().expect("a MetricStat");
            let dimensions = stat.metric().expect("a metric").dimensions();
            // The new version: Lambda's target version, or ECS's green target group.
            let is_new = dimensions.iter().any(|d| match (d.name(), d.value()) {
                (Some("ExecutedVersion"), Some(version)) => version == TARGET_VERSION,
                (Some("TargetGroup"), Some(group)) => group.contains("-green/"),
                _ => false,
            });
            let served = if is_new { new } else { old };
            let period = Duration::from_secs(stat.period().expect("a period") as u64);
            let mut result = MetricDataResult::builder().id(id).status_code(MetricStatus::Complete);
            let mut at = start;
            while at + period <= end {
                let minutes = served.minutes_in(at, at + period);
                let requests = (served.per_minute * minutes).round();
                let value = match stat.metric().and_then(|m| m.metric_name()) {
                    Some("Invocations" | "RequestCount") => requests,
                    Some("Errors" | "HTTPCode_Target_5XX_Count") => (requests * served.error_share).round(),
                    Some("Duration") if requests > 0.0 => served.p99_ms,
                    // The load balancer's response time is in seconds.
                    Some("TargetResponseTime") if requests > 0.0 => served.p99_ms / 1000.0,
                    _ => 0.0,
                };
                // Counts are published only when not zero; no requests, no duration either.
                if value > 0.0 {
                    result = result.timestamps(DateTime::from(at)).values(value);
                }
                at += period;
            }
            output = output.metric_data_results(result.build());
        }
        output.build()
    }
}
