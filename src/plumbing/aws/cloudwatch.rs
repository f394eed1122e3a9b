//! CloudWatch's `GetMetricData`, every page of it, with its errors typed once: a query's
//! `Forbidden` or `InternalError` status is an error like a refused call, never a series
//! that merely came back empty.

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{MetricDataQuery, ScanBy, StatusCode};
use aws_smithy_types::DateTime;

use super::error::{AwsError, Failure, Service};

const OPERATION: &str = "GetMetricData";

/// A page cap: AWS pages at 100,800 datapoints, which a judgement's few periods never reach, so
/// this many pages means a `NextToken` that never ends.
const MAX_PAGES: usize = 50;

/// Each query's datapoints, by query id, oldest first. A query with no datapoints has an empty
/// list: CloudWatch published nothing in that time.
pub(crate) type Datapoints = BTreeMap<String, Vec<(SystemTime, f64)>>;

/// Runs `queries` over `[start, end)` and gathers every page. Throttling and 5xx have been
/// retried by the SDK already; a denied call names `cloudwatch:GetMetricData`.
pub(crate) async fn get_metric_data(
    client: &Client,
    queries: Vec<MetricDataQuery>,
    start: SystemTime,
    end: SystemTime,
) -> Result<Datapoints, AwsError> {
    let mut gathered: Datapoints = queries
        .iter()
        .filter_map(|query| query.id().map(|id| (id.to_string(), Vec::new())))
        .collect();
    let mut next_token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = client
            .get_metric_data()
            .set_metric_data_queries(Some(queries.clone()))
            .start_time(DateTime::from(start))
            .end_time(DateTime::from(end))
            .scan_by(ScanBy::TimestampAscending)
            .set_next_token(next_token.take())
            .send()
            .await
            .map_err(|error| AwsError::from_sdk(Service::CloudWatch, OPERATION, &error))?;
        for result in page.metric_data_results() {
            let id = result.id().unwrap_or_default();
            match result.status_code() {
                Some(StatusCode::Forbidden) => {
                    return Err(refused(
                        "AccessDenied",
                        403,
                        format!("CloudWatch answered Forbidden for query {id}"),
                    ));
                }
                Some(StatusCode::InternalError) => {
                    return Err(refused(
                        "InternalError",
                        500,
                        format!("CloudWatch answered InternalError for query {id}"),
                    ));
                }
                _ => {}
            }
            let points = gathered.entry(id.to_string()).or_default();
            for (timestamp, value) in result.timestamps().iter().zip(result.values()) {
                if let Ok(time) = SystemTime::try_from(*timestamp) {
                    points.push((time, *value));
                }
            }
        }
        match page.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
            _ => {
                for points in gathered.values_mut() {
                    points.sort_by_key(|(time, _)| *time);
                }
                return Ok(gathered);
            }
        }
    }
    Err(AwsError {
        service: Service::CloudWatch,
        operation: OPERATION,
        failure: Failure::Response,
        code: None,
        message: Some(format!("more than {MAX_PAGES} pages: the NextToken did not end")),
        http_status: None,
        advice: None,
    })
}

/// A query AWS answered with a status instead of data, as the error a call would have been
/// (the status that classifies it: 403 is a refusal, 500 worth another look).
fn refused(code: &str, status: u16, message: String) -> AwsError {
    AwsError {
        service: Service::CloudWatch,
        operation: OPERATION,
        failure: Failure::Service,
        code: Some(code.to_string()),
        message: Some(message),
        http_status: Some(status),
        advice: None,
    }
}
