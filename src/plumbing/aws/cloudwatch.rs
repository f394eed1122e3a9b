//! CloudWatch's `GetMetricData`, every page of it, with its errors typed once: a query's
//! `Forbidden` or `InternalError` status is an error like a refused call (an `InternalError` read
//! again first), and a query left unanswered or partial is an error too: never a series that
//! merely came back empty. And `PutMetricData`, for the live judge's per-function metric.

use std::collections::BTreeMap;
use std::time::SystemTime;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{Dimension, MetricDataQuery, MetricDatum, ScanBy, StandardUnit, StatusCode};
use aws_smithy_types::DateTime;

use super::error::{AwsError, Failure, Service};

const OPERATION: &str = "GetMetricData";

/// A page cap: AWS pages at 100,800 datapoints, which a judgement's few periods never reach, so
/// this many pages means a `NextToken` that never ends.
const MAX_PAGES: usize = 50;

/// Each query's datapoints, by query id, oldest first. A query with no datapoints has an empty
/// list: CloudWatch published nothing in that time.
pub(crate) type Datapoints = BTreeMap<String, Vec<(SystemTime, f64)>>;

/// How many times a whole read is made again when a query came back `InternalError` (inside an
/// HTTP 200, which the SDK's retries never see).
const INTERNAL_ERROR_TRIES: usize = 3;

/// Runs `queries` over `[start, end)` and gathers every page. Throttling and 5xx have been
/// retried by the SDK already, and a query's `InternalError` by this read; a denied call names
/// `cloudwatch:GetMetricData`. A query CloudWatch left unanswered, or answered only in part, is
/// an error: it must never read as "nothing published".
pub(crate) async fn get_metric_data(
    client: &Client,
    queries: Vec<MetricDataQuery>,
    start: SystemTime,
    end: SystemTime,
) -> Result<Datapoints, AwsError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match read_all_pages(client, &queries, start, end).await {
            Err(error) if error.is("InternalError") && tries < INTERNAL_ERROR_TRIES => continue,
            read => return read,
        }
    }
}

/// Every page of one read.
async fn read_all_pages(
    client: &Client,
    queries: &[MetricDataQuery],
    start: SystemTime,
    end: SystemTime,
) -> Result<Datapoints, AwsError> {
    let mut gathered: Datapoints = BTreeMap::new();
    // The last status each query was given: `PartialData` until its last page.
    let mut statuses: BTreeMap<String, Option<StatusCode>> = BTreeMap::new();
    let mut next_token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = client
            .get_metric_data()
            .set_metric_data_queries(Some(queries.to_vec()))
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
            statuses.insert(id.to_string(), result.status_code().cloned());
            let points = gathered.entry(id.to_string()).or_default();
            for (timestamp, value) in result.timestamps().iter().zip(result.values()) {
                if let Ok(time) = SystemTime::try_from(*timestamp) {
                    points.push((time, *value));
                }
            }
        }
        if let Some(token) = page.next_token().filter(|token| !token.is_empty()) {
            next_token = Some(token.to_string());
            continue;
        }
        for query in queries.iter().filter_map(|query| query.id()) {
            match statuses.get(query) {
                None => return Err(incomplete(format!("CloudWatch answered nothing for query {query}"))),
                Some(Some(StatusCode::PartialData)) => {
                    return Err(incomplete(format!(
                        "CloudWatch answered query {query} only in part (PartialData) and gave no NextToken"
                    )));
                }
                Some(_) => {}
            }
        }
        for points in gathered.values_mut() {
            points.sort_by_key(|(time, _)| *time);
        }
        return Ok(gathered);
    }
    Err(incomplete(format!(
        "more than {MAX_PAGES} pages: the NextToken did not end"
    )))
}

/// One value to publish: a metric of `namespace` with its dimensions, at `timestamp`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Datum {
    pub metric: &'static str,
    pub dimensions: Vec<(&'static str, String)>,
    pub value: f64,
    pub timestamp: SystemTime,
}

/// PutMetricData takes at most this many values a call.
const DATA_PER_CALL: usize = 1000;

/// Publishes `data` under `namespace` (standard resolution, unit `None`). Throttling and 5xx have
/// been retried by the SDK already; a denied call names `cloudwatch:PutMetricData`.
pub(crate) async fn put_metric_data(client: &Client, namespace: &str, data: &[Datum]) -> Result<(), AwsError> {
    for batch in data.chunks(DATA_PER_CALL) {
        let data = batch
            .iter()
            .map(|datum| {
                MetricDatum::builder()
                    .metric_name(datum.metric)
                    .set_dimensions(Some(
                        datum
                            .dimensions
                            .iter()
                            .map(|(name, value)| Dimension::builder().name(*name).value(value).build())
                            .collect(),
                    ))
                    .value(datum.value)
                    .unit(StandardUnit::None)
                    .timestamp(DateTime::from(datum.timestamp))
                    .build()
            })
            .collect();
        client
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(data))
            .send()
            .await
            .map_err(|error| AwsError::from_sdk(Service::CloudWatch, "PutMetricData", &error))?;
    }
    Ok(())
}

/// An answer that does not hold what was asked: worth another look, never read as no data.
fn incomplete(message: String) -> AwsError {
    AwsError {
        service: Service::CloudWatch,
        operation: OPERATION,
        failure: Failure::Response,
        code: None,
        message: Some(message),
        http_status: None,
        advice: None,
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
    use aws_sdk_cloudwatch::types::MetricDataResult;
    use aws_smithy_mocks::mock;

    use crate::plumbing::aws::canned;

    fn queries() -> Vec<MetricDataQuery> {
        ["new_requests", "new_errors"]
            .into_iter()
            .map(|id| MetricDataQuery::builder().id(id).build())
            .collect()
    }

    fn result(id: &str, status: StatusCode) -> MetricDataResult {
        MetricDataResult::builder()
            .id(id)
            .status_code(status)
            .timestamps(DateTime::from_secs(1_796_637_600))
            .values(7.0)
            .build()
    }

    fn answer(results: Vec<MetricDataResult>) -> GetMetricDataOutput {
        GetMetricDataOutput::builder()
            .set_metric_data_results(Some(results))
            .build()
    }

    async fn read(rule: &aws_smithy_mocks::Rule) -> Result<Datapoints, AwsError> {
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_796_637_600);
        get_metric_data(
            &canned::cloudwatch(&[rule]),
            queries(),
            at,
            at + std::time::Duration::from_secs(600),
        )
        .await
    }

    #[tokio::test]
    async fn a_query_s_internal_error_is_read_again() {
        let rule = mock!(Client::get_metric_data)
            .sequence()
            .output(|| answer(vec![result("new_requests", StatusCode::InternalError)]))
            .output(|| {
                answer(vec![
                    result("new_requests", StatusCode::Complete),
                    result("new_errors", StatusCode::Complete),
                ])
            })
            .build();
        let read = read(&rule).await.expect("read again");
        assert_eq!(read["new_requests"].len(), 1);
        assert_eq!(rule.num_calls(), 2);
    }

    #[tokio::test]
    async fn a_query_left_unanswered_or_partial_is_an_error_never_no_data() {
        let unanswered =
            mock!(Client::get_metric_data).then_output(|| answer(vec![result("new_requests", StatusCode::Complete)]));
        let error = read(&unanswered).await.unwrap_err();
        assert!(
            error.to_string().contains("answered nothing for query new_errors"),
            "{error}"
        );
        assert!(error.retry_can_help());
        let partial = mock!(Client::get_metric_data).then_output(|| {
            answer(vec![
                result("new_requests", StatusCode::Complete),
                result("new_errors", StatusCode::PartialData),
            ])
        });
        let error = read(&partial).await.unwrap_err();
        assert!(error.to_string().contains("only in part"), "{error}");
        let forbidden =
            mock!(Client::get_metric_data).then_output(|| answer(vec![result("new_requests", StatusCode::Forbidden)]));
        let error = read(&forbidden).await.unwrap_err();
        assert_eq!(
            crate::checks::verdict::Cause::of(&error),
            crate::checks::verdict::Cause::NotPermitted
        );
    }
}
