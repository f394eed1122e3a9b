//! The stand-in's CloudWatch: GetMetricData, PutMetricData and DescribeAlarms, in Smithy RPC v2
//! CBOR as the SDKs speak it now (`POST /service/GraniteServiceVersion20100801/operation/NAME`,
//! `smithy-protocol: rpc-v2-cbor`, CBOR bodies, timestamps as tag 1 with epoch seconds), over the
//! metrics the stand-in's Lambda, PutMetricData and the tests publish (`metrics.rs`) and the
//! alarms the tests define (`alarms.rs`).
//!
//! As CloudWatch: a query matches a series only when its dimension set is exactly the series'
//! set; StartTime is rounded down to the minute and periods are counted from it; a period
//! without samples has no datapoint; datapoints come newest first unless `ScanBy` says
//! otherwise; an answer larger than a page (100,800 datapoints, or fewer when the test says so)
//! is paged with `NextToken`. Errors carry `__type` and `message` in the body and, CloudWatch
//! being query-compatible, the query protocol's code in `x-amzn-query-error: CODE;Sender`,
//! which is the code the SDKs report. Metric math and Metrics Insights (`Expression`) are not
//! supported: such a query is answered with a ValidationError that says so.
//!
//! PutMetricData checks what CloudWatch documents (a namespace outside `AWS/`, at most 1,000
//! metric data, 30 dimensions and 150 values each, one of `Value`, `Values` or `StatisticValues`,
//! values CloudWatch can hold, timestamps from two weeks before the wall clock's now to two hours
//! after), refuses a whole request for any datum's fault as CloudWatch does, and stores the rest in
//! the series GetMetricData reads; bodies the SDK gzipped are inflated first. Entities
//! (`EntityMetricData`) are accepted but not kept: only their metric data is.

use std::collections::HashSet;
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minicbor::data::Type;
use sha2::{Digest, Sha256};

use super::alarms;
use super::faults::{apply_fault, take_fault};
use super::metrics::{self, Sample, SeriesKey, Statistic};
use super::model::{Fault, MetricDataRecord, MetricDatumRecord, Operation};
use super::records::Shared;

/// AWS's page: GetMetricData returns at most this many datapoints a call.
pub(crate) const AWS_PAGE_SIZE: usize = 100_800;

/// A CBOR data item, as read from a request.
#[derive(Debug, Clone, PartialEq)]
enum Cbor {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
    Array(Vec<Cbor>),
    Map(Vec<(Cbor, Cbor)>),
    Tagged(u64, Box<Cbor>),
}

impl Cbor {
    /// The member `name` of a map with text keys.
    fn get(&self, name: &str) -> Option<&Cbor> {
        match self {
            Cbor::Map(entries) => entries
                .iter()
                .find(|(key, _)| matches!(key, Cbor::Text(text) if text == name))
                .map(|(_, value)| value),
            _ => None,
        }
    }

    fn text(&self) -> Option<&str> {
        match self {
            Cbor::Text(text) => Some(text),
            _ => None,
        }
    }

    fn integer(&self) -> Option<i128> {
        match self {
            Cbor::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// A double, which an encoder may send as an integer when no precision is lost (the
    /// protocol allows it).
    fn number(&self) -> Option<f64> {
        match self {
            Cbor::Int(n) => Some(*n as f64),
            Cbor::Float(x) => Some(*x),
            _ => None,
        }
    }

    /// The member `name`, unless absent or null (which the protocol treats alike).
    fn member(&self, name: &str) -> Option<&Cbor> {
        self.get(name).filter(|value| **value != Cbor::Null)
    }

    /// The items of an array (none for anything else).
    fn items(&self) -> &[Cbor] {
        match self {
            Cbor::Array(items) => items,
            _ => &[],
        }
    }

    /// A timestamp: tag 1 over epoch seconds, whole or fractional.
    fn timestamp(&self) -> Option<SystemTime> {
        let Cbor::Tagged(1, seconds) = self else {
            return None;
        };
        let seconds = match seconds.as_ref() {
            Cbor::Int(n) => *n as f64,
            Cbor::Float(x) => *x,
            _ => return None,
        };
        let since = Duration::try_from_secs_f64(seconds).ok()?;
        SystemTime::UNIX_EPOCH.checked_add(since)
    }
}

/// Reads one CBOR data item, definite or indefinite length, at most `depth` levels deep.
fn read(decoder: &mut minicbor::Decoder<'_>, depth: u32) -> Result<Cbor, minicbor::decode::Error> {
    if depth == 0 {
        return Err(minicbor::decode::Error::message("nested too deeply"));
    }
    let item = match decoder.datatype()? {
        Type::Bool => Cbor::Bool(decoder.bool()?),
        Type::Null | Type::Undefined | Type::Simple => {
            decoder.skip()?;
            Cbor::Null
        }
        Type::U8 | Type::U16 | Type::U32 | Type::U64 | Type::I8 | Type::I16 | Type::I32 | Type::I64 | Type::Int => {
            Cbor::Int(i128::from(decoder.int()?))
        }
        Type::F16 | Type::F32 | Type::F64 => Cbor::Float(decoder.f64()?),
        Type::Bytes | Type::BytesIndef => {
            let mut bytes = Vec::new();
            for chunk in decoder.bytes_iter()? {
                bytes.extend_from_slice(chunk?);
            }
            Cbor::Bytes(bytes)
        }
        Type::String | Type::StringIndef => {
            let mut text = String::new();
            for chunk in decoder.str_iter()? {
                text.push_str(chunk?);
            }
            Cbor::Text(text)
        }
        Type::Array | Type::ArrayIndef => {
            let length = decoder.array()?;
            let mut items = Vec::new();
            while more(decoder, length, items.len())? {
                items.push(read(decoder, depth - 1)?);
            }
            Cbor::Array(items)
        }
        Type::Map | Type::MapIndef => {
            let length = decoder.map()?;
            let mut entries = Vec::new();
            while more(decoder, length, entries.len())? {
                let key = read(decoder, depth - 1)?;
                entries.push((key, read(decoder, depth - 1)?));
            }
            Cbor::Map(entries)
        }
        Type::Tag => {
            let tag = decoder.tag()?.as_u64();
            Cbor::Tagged(tag, Box::new(read(decoder, depth - 1)?))
        }
        other => return Err(minicbor::decode::Error::type_mismatch(other)),
    };
    Ok(item)
}

/// Whether an array or map of `length` items (`None`: indefinite, ended by a break) has more
/// after `read` of them; consumes the break.
fn more(
    decoder: &mut minicbor::Decoder<'_>,
    length: Option<u64>,
    read: usize,
) -> Result<bool, minicbor::decode::Error> {
    match length {
        Some(length) => Ok((read as u64) < length),
        None if decoder.datatype()? == Type::Break => {
            decoder.skip()?;
            Ok(false)
        }
        None => Ok(true),
    }
}

/// A CBOR writer for the answers: definite lengths, text keys, the few types GetMetricData
/// returns. Writing to a `Vec` cannot fail, so nothing here returns an error.
#[derive(Default)]
struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    /// A data item's head: its major type and its length or value.
    fn head(&mut self, major: u8, value: u64) -> &mut Self {
        let major = major << 5;
        match value {
            0..=23 => self.bytes.push(major | value as u8),
            24..=0xff => self.bytes.extend([major | 24, value as u8]),
            0x100..=0xffff => {
                self.bytes.push(major | 25);
                self.bytes.extend((value as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                self.bytes.push(major | 26);
                self.bytes.extend((value as u32).to_be_bytes());
            }
            _ => {
                self.bytes.push(major | 27);
                self.bytes.extend(value.to_be_bytes());
            }
        }
        self
    }

    fn text(&mut self, text: &str) -> &mut Self {
        self.head(3, text.len() as u64);
        self.bytes.extend_from_slice(text.as_bytes());
        self
    }

    fn array(&mut self, length: usize) -> &mut Self {
        self.head(4, length as u64)
    }

    fn map(&mut self, length: usize) -> &mut Self {
        self.head(5, length as u64)
    }

    fn double(&mut self, value: f64) -> &mut Self {
        self.bytes.push(0xfb);
        self.bytes.extend(value.to_be_bytes());
        self
    }

    fn boolean(&mut self, value: bool) -> &mut Self {
        self.bytes.push(if value { 0xf5 } else { 0xf4 });
        self
    }

    /// Tag 1 (epoch-seconds date/time) over whole seconds.
    fn timestamp(&mut self, at: SystemTime) -> &mut Self {
        let seconds = at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs();
        self.head(6, 1).head(0, seconds)
    }
}

/// A CloudWatch error: `status`, the query protocol's `code` (in `x-amzn-query-error`, which
/// the SDKs read) and the body's `__type` (the model's shape, where there is one).
fn error(status: StatusCode, code: &str, shape: &str, message: &str) -> Response {
    let kind = if status.is_server_error() { "Receiver" } else { "Sender" };
    let mut body = Writer::default();
    body.map(2).text("__type").text(shape).text("message").text(message);
    (
        status,
        [
            ("smithy-protocol", "rpc-v2-cbor".to_string()),
            ("content-type", "application/cbor".to_string()),
            ("x-amzn-query-error", format!("{code};{kind}")),
        ],
        body.bytes,
    )
        .into_response()
}

/// A request CloudWatch refuses as invalid: ValidationError, as GetMetricData answers for a bad
/// statistic, id or period.
fn invalid(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "ValidationError", "ValidationError", message)
}

/// The answer to an injected fault, for `action` (`cloudwatch:ACTION` in an access denial).
fn fault_response(action: &str, fault: Fault) -> Response {
    match fault {
        Fault::Throttle => error(
            StatusCode::BAD_REQUEST,
            "Throttling",
            "com.amazon.coral.availability#ThrottlingException",
            "Rate exceeded",
        ),
        Fault::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServiceError",
            "com.amazonaws.cloudwatch#InternalServiceFault",
            "Internal service error.",
        ),
        Fault::AccessDenied => error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "com.amazon.coral.service#AccessDeniedException",
            &format!(
                "User: arn:aws:sts::000000000000:assumed-role/preflight/CodeDeployHook_preflight is not authorized \
                 to perform: cloudwatch:{action} because no identity-based policy allows the cloudwatch:{action} \
                 action"
            ),
        ),
        // Never reached: apply_fault waits out latency and lets the call go on.
        Fault::Latency(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServiceError",
            "com.amazonaws.cloudwatch#InternalServiceFault",
            "latency is not an error",
        ),
    }
}

/// One `MetricDataQuery` with a `MetricStat`, checked.
#[derive(Debug)]
struct Query {
    id: String,
    label: String,
    return_data: bool,
    series: SeriesKey,
    period: u64,
    statistic: Statistic,
    unit: Option<String>,
}

/// A GetMetricData request, checked; its `Debug` form (without the token) fingerprints the
/// pages of one question.
#[derive(Debug)]
struct Request {
    queries: Vec<Query>,
    start: SystemTime,
    end: SystemTime,
    descending: bool,
    max_datapoints: Option<usize>,
}

/// `^[a-z][a-zA-Z0-9_]*$`, CloudWatch's pattern for a query's id.
fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|first| first.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The `member`th query (from 1, as CloudWatch's messages count them), checked.
fn query(member: usize, item: &Cbor) -> Result<Query, String> {
    let at = format!("MetricDataQueries.member.{member}");
    let id = item.get("Id").and_then(Cbor::text).unwrap_or_default().to_string();
    if !valid_id(&id) {
        return Err(format!(
            "The value {id} for parameter {at}.Id is not matching the expected pattern ^[a-z][a-zA-Z0-9_]*$."
        ));
    }
    if item.get("Expression").is_some_and(|e| *e != Cbor::Null) {
        return Err(format!(
            "The stand-in does not support Expression (metric math or Metrics Insights) in {at}; ask with MetricStat."
        ));
    }
    let Some(stat) = item.get("MetricStat").filter(|stat| **stat != Cbor::Null) else {
        return Err(format!(
            "Exactly one element of the MetricStat or the Expression must be present in {at}."
        ));
    };
    let metric = stat.get("Metric");
    let field = |name: &str| {
        metric
            .and_then(|m| m.get(name))
            .and_then(Cbor::text)
            .unwrap_or_default()
    };
    let (namespace, metric_name) = (field("Namespace"), field("MetricName"));
    if namespace.is_empty() || metric_name.is_empty() {
        return Err(format!(
            "The parameter {at}.MetricStat.Metric must name its Namespace and MetricName."
        ));
    }
    let mut dimensions = Vec::new();
    if let Some(Cbor::Array(items)) = metric.and_then(|m| m.get("Dimensions")) {
        for dimension in items {
            let name = dimension.get("Name").and_then(Cbor::text).unwrap_or_default();
            let value = dimension.get("Value").and_then(Cbor::text).unwrap_or_default();
            dimensions.push((name, value));
        }
    }
    let period = stat.get("Period").and_then(Cbor::integer).unwrap_or(0);
    // CloudWatch also takes 1, 5, 10, 20 and 30 for high-resolution metrics; every series the
    // stand-in holds is standard resolution, so its periods are whole minutes.
    if period <= 0 || period % 60 != 0 {
        return Err(format!(
            "The parameter {at}.MetricStat.Period must be a multiple of 60: the stand-in's metrics are standard resolution (got {period})."
        ));
    }
    let stat_name = stat.get("Stat").and_then(Cbor::text).unwrap_or_default();
    let Some(statistic) = Statistic::parse(stat_name) else {
        return Err(format!(
            "The value {stat_name} for parameter {at}.MetricStat.Stat is not a valid statistic."
        ));
    };
    Ok(Query {
        label: item
            .get("Label")
            .and_then(Cbor::text)
            .unwrap_or(metric_name)
            .to_string(),
        id,
        return_data: !matches!(item.get("ReturnData"), Some(Cbor::Bool(false))),
        series: SeriesKey::new(namespace, metric_name, &dimensions),
        period: u64::try_from(period).unwrap_or(60),
        statistic,
        unit: stat.get("Unit").and_then(Cbor::text).map(str::to_string),
    })
}

/// The request, checked, and its `NextToken` if any.
fn request(body: &Cbor) -> Result<(Request, Option<String>), String> {
    let Some(Cbor::Array(items)) = body.get("MetricDataQueries") else {
        return Err(
            "1 validation error detected: Value null at 'metricDataQueries' failed to satisfy constraint: Member must not be null"
                .into(),
        );
    };
    if items.is_empty() || items.len() > 500 {
        return Err(format!(
            "The collection MetricDataQueries must have between 1 and 500 members (got {}).",
            items.len()
        ));
    }
    let queries = items
        .iter()
        .enumerate()
        .map(|(index, item)| query(index + 1, item))
        .collect::<Result<Vec<Query>, String>>()?;
    let mut ids = HashSet::new();
    if !queries.iter().all(|query| ids.insert(query.id.as_str())) {
        return Err("The values for parameter id in MetricDataQueries are not unique.".into());
    }
    let time = |name: &str| {
        body.get(name).and_then(Cbor::timestamp).ok_or_else(|| {
            let lower = name[..1].to_lowercase() + &name[1..];
            format!("1 validation error detected: Value null at '{lower}' failed to satisfy constraint: Member must not be null")
        })
    };
    let (start, end) = (time("StartTime")?, time("EndTime")?);
    if start >= end {
        return Err("The parameter StartTime must be less than the parameter EndTime.".into());
    }
    let descending = match body.get("ScanBy").and_then(Cbor::text) {
        None | Some("TimestampDescending") => true,
        Some("TimestampAscending") => false,
        Some(other) => {
            return Err(format!(
                "1 validation error detected: Value '{other}' at 'scanBy' failed to satisfy constraint: Member must satisfy enum value set: [TimestampDescending, TimestampAscending]"
            ));
        }
    };
    let max_datapoints = match body.get("MaxDatapoints").and_then(Cbor::integer) {
        Some(n) if n <= 0 => return Err(format!("The parameter MaxDatapoints must be positive (got {n}).")),
        Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
        None => None,
    };
    let token = body.get("NextToken").and_then(Cbor::text).map(str::to_string);
    let request = Request {
        queries,
        start,
        end,
        descending,
        max_datapoints,
    };
    Ok((request, token))
}

/// Rounds down to the minute, as CloudWatch rounds a StartTime of the last 15 days (older ones
/// are rounded further, which the stand-in does not imitate).
fn floor_to_minute(at: SystemTime) -> SystemTime {
    let seconds = at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs();
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds - seconds % 60)
}

/// The request's fingerprint, which its tokens carry so that a token is only good for the
/// question it was handed out for, as CloudWatch's are.
fn fingerprint(request: &Request) -> String {
    Sha256::digest(format!("{request:?}").as_bytes())
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The most a request body may inflate to: far more than CloudWatch's 1 MB request, far less
/// than what would hurt.
const MAX_INFLATED: u64 = 16 * 1024 * 1024;

/// The body as sent, or inflated when the SDK gzipped it (`Content-Encoding: gzip`).
fn inflated(headers: &HeaderMap, body: &Bytes) -> Result<Vec<u8>, String> {
    let gzipped = headers
        .get_all("content-encoding")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| {
            value
                .split(',')
                .any(|coding| coding.trim().eq_ignore_ascii_case("gzip"))
        });
    if !gzipped {
        return Ok(body.to_vec());
    }
    let mut inflated = Vec::new();
    flate2::read::GzDecoder::new(body.as_ref())
        .take(MAX_INFLATED)
        .read_to_end(&mut inflated)
        .map_err(|problem| format!("The gzipped request body does not inflate: {problem}"))?;
    Ok(inflated)
}

/// Serves `POST /service/GraniteServiceVersion20100801/operation/{operation}`.
pub(crate) async fn serve(
    State(shared): State<Arc<Shared>>,
    Path(operation): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Non-capturing, so that each is the `fn` apply_fault takes.
    let (kind, respond): (Operation, fn(Fault) -> Response) = match operation.as_str() {
        "GetMetricData" => (Operation::GetMetricData, |fault| fault_response("GetMetricData", fault)),
        "PutMetricData" => (Operation::PutMetricData, |fault| fault_response("PutMetricData", fault)),
        "DescribeAlarms" => (Operation::DescribeAlarms, |fault| {
            fault_response("DescribeAlarms", fault)
        }),
        _ => {
            return error(
                StatusCode::NOT_FOUND,
                "UnknownOperationException",
                "UnknownOperationException",
                &format!(
                    "The stand-in's CloudWatch serves GetMetricData, PutMetricData and DescribeAlarms, not {operation}."
                ),
            );
        }
    };
    if let Some(response) = apply_fault(take_fault(&shared, kind), respond).await {
        return response;
    }
    let parsed = inflated(&headers, &body).and_then(|bytes| {
        read(&mut minicbor::Decoder::new(&bytes), 32)
            .map_err(|problem| format!("The request body is not CBOR: {problem}"))
    });
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(message) => {
            return error(
                StatusCode::BAD_REQUEST,
                "SerializationException",
                "SerializationException",
                &message,
            );
        }
    };
    match kind {
        Operation::PutMetricData => put_metric_data(&shared, &parsed),
        Operation::DescribeAlarms => describe_alarms(&shared, &parsed),
        _ => {
            let (request, token) = match request(&parsed) {
                Ok(checked) => checked,
                Err(message) => return invalid(&message),
            };
            get_metric_data(&shared, &request, token.as_deref())
        }
    }
}

fn get_metric_data(shared: &Shared, request: &Request, token: Option<&str>) -> Response {
    let start = floor_to_minute(request.start);
    let (answers, page_size) = {
        let records = shared.records();
        let answers: Vec<Vec<(SystemTime, f64)>> = request
            .queries
            .iter()
            .map(|query| {
                let Some(series) = records.metrics.series(&query.series) else {
                    return Vec::new();
                };
                let period = Duration::from_secs(query.period);
                let mut points = metrics::datapoints(
                    series,
                    query.statistic,
                    query.unit.as_deref(),
                    start,
                    request.end,
                    period,
                );
                if request.descending {
                    points.reverse();
                }
                points
            })
            .collect();
        (answers, records.metric_page_size.unwrap_or(AWS_PAGE_SIZE))
    };
    let page_size = request
        .max_datapoints
        .map_or(page_size, |max| max.min(page_size))
        .max(1);
    let returned: Vec<(&Query, &Vec<(SystemTime, f64)>)> = request
        .queries
        .iter()
        .zip(&answers)
        .filter(|(query, _)| query.return_data)
        .collect();
    let total: usize = returned.iter().map(|(_, points)| points.len()).sum();
    let fingerprint = fingerprint(request);
    // The token is where the next page starts in the answers laid end to end.
    let offset = match token {
        None => 0,
        Some(token) => {
            let offset = token
                .strip_prefix(&format!("local-{fingerprint}-"))
                .and_then(|offset| offset.parse::<usize>().ok())
                .filter(|offset| *offset < total);
            match offset {
                Some(offset) => offset,
                None => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "InvalidNextToken",
                        "com.amazonaws.cloudwatch#InvalidNextToken",
                        "The service returned an invalid NextToken.",
                    );
                }
            }
        }
    };
    let page_end = offset.saturating_add(page_size).min(total);
    let mut body = Writer::default();
    body.map(if page_end < total { 3 } else { 2 });
    body.text("MetricDataResults").array(returned.len());
    let mut base = 0;
    for (query, points) in &returned {
        let from = offset.clamp(base, base + points.len()) - base;
        let to = page_end.clamp(base, base + points.len()) - base;
        base += points.len();
        let page = &points[from..to];
        // PartialData: more of this query's datapoints are on a later page.
        let status = if to < points.len() { "PartialData" } else { "Complete" };
        body.map(5);
        body.text("Id").text(&query.id);
        body.text("Label").text(&query.label);
        body.text("Timestamps").array(page.len());
        for (at, _) in page {
            body.timestamp(*at);
        }
        body.text("Values").array(page.len());
        for (_, value) in page {
            body.double(*value);
        }
        body.text("StatusCode").text(status);
    }
    body.text("Messages").array(0);
    if page_end < total {
        body.text("NextToken").text(&format!("local-{fingerprint}-{page_end}"));
    }
    (
        StatusCode::OK,
        [("smithy-protocol", "rpc-v2-cbor"), ("content-type", "application/cbor")],
        body.bytes,
    )
        .into_response()
}

/// A request CloudWatch refuses: the query protocol's code, the model's error shape, a message.
struct Refusal(&'static str, &'static str, String);

impl Refusal {
    fn invalid_value(message: String) -> Refusal {
        Refusal(
            "InvalidParameterValue",
            "com.amazonaws.cloudwatch#InvalidParameterValueException",
            message,
        )
    }

    fn missing(message: String) -> Refusal {
        Refusal(
            "MissingParameter",
            "com.amazonaws.cloudwatch#MissingRequiredParameterException",
            message,
        )
    }

    fn combination(message: String) -> Refusal {
        Refusal(
            "InvalidParameterCombination",
            "com.amazonaws.cloudwatch#InvalidParameterCombinationException",
            message,
        )
    }

    fn response(&self) -> Response {
        error(StatusCode::BAD_REQUEST, self.0, self.1, &self.2)
    }
}

/// At most this many metric data a PutMetricData call (`MetricData` and `EntityMetricData`'s
/// together).
const MAX_METRIC_DATA: usize = 1000;
/// At most this many dimensions a metric.
const MAX_DIMENSIONS: usize = 30;
/// At most this many `Values` a datum.
const MAX_VALUES: usize = 150;
/// How far back a timestamp may be: two weeks.
const OLDEST: Duration = Duration::from_secs(14 * 24 * 3600);
/// How far ahead a timestamp may be: two hours.
const NEWEST: Duration = Duration::from_secs(2 * 3600);

/// CloudWatch's units (`StandardUnit`).
const UNITS: [&str; 27] = [
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// A request's value as a message shows it.
fn shown(item: &Cbor) -> String {
    match item {
        Cbor::Int(n) => n.to_string(),
        Cbor::Float(x) => x.to_string(),
        Cbor::Text(text) => text.clone(),
        Cbor::Bool(value) => value.to_string(),
        _ => "(not a number)".into(),
    }
}

/// A value CloudWatch holds: finite, within -2^360 to 2^360.
fn holdable(value: f64) -> bool {
    value.is_finite() && value.abs() <= 2f64.powi(360)
}

/// A datum, checked: its series, unit and samples.
struct Checked {
    key: SeriesKey,
    unit: String,
    samples: Vec<Sample>,
}

/// Every `MetricDatum` of the request with where it is (`MetricData.member.N` or
/// `EntityMetricData.member.M.MetricData.member.N`, as CloudWatch's messages name them).
fn metric_data(body: &Cbor) -> Vec<(String, &Cbor)> {
    let mut data: Vec<(String, &Cbor)> = body
        .member("MetricData")
        .map(Cbor::items)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(index, item)| (format!("MetricData.member.{}", index + 1), item))
        .collect();
    let entities = body.member("EntityMetricData").map(Cbor::items).unwrap_or_default();
    for (entity, item) in entities.iter().enumerate() {
        let items = item.member("MetricData").map(Cbor::items).unwrap_or_default();
        for (index, datum) in items.iter().enumerate() {
            let at = format!("EntityMetricData.member.{}.MetricData.member.{}", entity + 1, index + 1);
            data.push((at, datum));
        }
    }
    data
}

/// What a datum sent, read leniently (for the record of the call, refused or not).
fn datum_record(item: &Cbor) -> MetricDatumRecord {
    let text = |name: &str| item.member(name).and_then(Cbor::text).map(str::to_string);
    let numbers = |name: &str| {
        item.member(name)
            .map(Cbor::items)
            .unwrap_or_default()
            .iter()
            .filter_map(Cbor::number)
            .collect()
    };
    let set = item.member("StatisticValues").and_then(|set| {
        let field = |name: &str| set.member(name).and_then(Cbor::number);
        Some([
            field("SampleCount")?,
            field("Sum")?,
            field("Minimum")?,
            field("Maximum")?,
        ])
    });
    MetricDatumRecord {
        metric_name: text("MetricName").unwrap_or_default(),
        dimensions: item
            .member("Dimensions")
            .map(Cbor::items)
            .unwrap_or_default()
            .iter()
            .map(|dimension| {
                let part = |name: &str| {
                    dimension
                        .member(name)
                        .and_then(Cbor::text)
                        .unwrap_or_default()
                        .to_string()
                };
                (part("Name"), part("Value"))
            })
            .collect(),
        timestamp: item.member("Timestamp").and_then(Cbor::timestamp),
        value: item.member("Value").and_then(Cbor::number),
        values: numbers("Values"),
        counts: numbers("Counts"),
        statistic_values: set,
        unit: text("Unit"),
    }
}

/// The request's namespace, checked.
fn namespace(body: &Cbor) -> Result<String, Refusal> {
    let Some(namespace) = body.member("Namespace").and_then(Cbor::text) else {
        return Err(Refusal::missing("The parameter Namespace is required.".into()));
    };
    let printable = namespace.chars().all(|c| c.is_ascii() && !c.is_ascii_control());
    let length_ok = (1..=255).contains(&namespace.len());
    // CloudWatch keeps `AWS/` for AWS's own services; the message is the stand-in's, after
    // CloudWatch's "The value X for parameter Y is invalid." form.
    if !printable || !length_ok || namespace.starts_with(':') || namespace.starts_with("AWS/") {
        return Err(Refusal::invalid_value(format!(
            "The value {namespace} for parameter Namespace is invalid."
        )));
    }
    Ok(namespace.to_string())
}

/// A number member `name` of the datum at `at`, checked to be one CloudWatch holds.
fn holdable_number(item: &Cbor, at: &str, name: &str) -> Result<Option<f64>, Refusal> {
    let Some(value) = item.member(name) else {
        return Ok(None);
    };
    match value.number() {
        Some(number) if holdable(number) => Ok(Some(number)),
        _ => Err(Refusal::invalid_value(format!(
            "The value {} for parameter {at}.{name} is invalid.",
            shown(value)
        ))),
    }
}

/// One datum at `at`, checked as CloudWatch checks it (`now` is the wall clock's, which CloudWatch
/// holds timestamps against whatever time a test simulates).
fn check_datum(namespace: &str, at: &str, item: &Cbor, now: SystemTime) -> Result<Checked, Refusal> {
    let name = item.member("MetricName").and_then(Cbor::text).unwrap_or_default();
    if name.is_empty() {
        return Err(Refusal::missing(format!("The parameter {at}.MetricName is required.")));
    }
    if name.len() > 255 {
        return Err(Refusal::invalid_value(format!(
            "The parameter {at}.MetricName must be no longer than 255 characters."
        )));
    }
    let dimensions = item.member("Dimensions").map(Cbor::items).unwrap_or_default();
    if dimensions.len() > MAX_DIMENSIONS {
        return Err(Refusal::invalid_value(format!(
            "The collection {at}.Dimensions must not have a size greater than {MAX_DIMENSIONS}."
        )));
    }
    let mut pairs = Vec::new();
    for (index, dimension) in dimensions.iter().enumerate() {
        let part = |part: &str| dimension.member(part).and_then(Cbor::text).unwrap_or_default();
        let (name, value) = (part("Name"), part("Value"));
        for (part, text, longest) in [("Name", name, 255), ("Value", value, 1024)] {
            if text.trim().is_empty() || text.len() > longest || (part == "Name" && text.starts_with(':')) {
                return Err(Refusal::invalid_value(format!(
                    "The value {text} for parameter {at}.Dimensions.member.{}.{part} is invalid.",
                    index + 1
                )));
            }
        }
        pairs.push((name, value));
    }
    let value = holdable_number(item, at, "Value")?;
    let values = item.member("Values");
    let counts = item.member("Counts");
    let set = item.member("StatisticValues");
    let given: Vec<&str> = [
        ("Value", value.is_some()),
        ("StatisticValues", set.is_some()),
        ("Values", values.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, present)| present.then_some(name))
    .collect();
    if let [first, second, ..] = given.as_slice() {
        return Err(Refusal::combination(format!(
            "The parameters {at}.{first} and {at}.{second} are mutually exclusive and you have specified both."
        )));
    }
    if counts.is_some() && values.is_none() {
        return Err(Refusal::combination(format!(
            "The parameter {at}.Counts is given without {at}.Values."
        )));
    }
    let timestamp = match item.member("Timestamp") {
        // CloudWatch stamps a datum without one with the time it arrives.
        None => now,
        Some(stamp) => {
            let stamp = stamp
                .timestamp()
                .filter(|stamp| stamp.checked_add(OLDEST).is_some_and(|latest| latest >= now));
            let Some(stamp) = stamp else {
                return Err(Refusal::invalid_value(format!(
                    "The parameter {at}.Timestamp must specify a time within the past two weeks."
                )));
            };
            if stamp > now + NEWEST {
                return Err(Refusal::invalid_value(format!(
                    "The parameter {at}.Timestamp must specify a time no more than two hours in the future."
                )));
            }
            stamp
        }
    };
    let unit = match item.member("Unit").and_then(Cbor::text) {
        None => "None".to_string(),
        Some(unit) if UNITS.contains(&unit) => unit.to_string(),
        Some(unit) => {
            return Err(Refusal::invalid_value(format!(
                "The value {unit} for parameter {at}.Unit is invalid."
            )));
        }
    };
    if let Some(resolution) = item.member("StorageResolution")
        && !matches!(resolution.integer(), Some(1 | 60))
    {
        return Err(Refusal::invalid_value(format!(
            "The value {} for parameter {at}.StorageResolution is invalid: it is 1 or 60.",
            shown(resolution)
        )));
    }
    let samples = if let Some(value) = value {
        vec![Sample::value(timestamp, value)]
    } else if let Some(set) = set {
        let mut fields = [0.0; 4];
        for (slot, name) in fields.iter_mut().zip(["SampleCount", "Sum", "Minimum", "Maximum"]) {
            *slot = holdable_number(set, &format!("{at}.StatisticValues"), name)?
                .ok_or_else(|| Refusal::missing(format!("The parameter {at}.StatisticValues.{name} is required.")))?;
        }
        let [count, sum, minimum, maximum] = fields;
        if count <= 0.0 || minimum > maximum {
            return Err(Refusal::invalid_value(format!(
                "The parameter {at}.StatisticValues must have a positive SampleCount and a Minimum no greater than its Maximum."
            )));
        }
        vec![Sample {
            at: timestamp,
            count,
            sum,
            minimum,
            maximum,
        }]
    } else if let Some(values) = values {
        let values = values.items();
        if values.len() > MAX_VALUES {
            return Err(Refusal::invalid_value(format!(
                "The collection {at}.Values must not have a size greater than {MAX_VALUES}."
            )));
        }
        let counts: Vec<&Cbor> = counts.map(Cbor::items).unwrap_or_default().iter().collect();
        if !counts.is_empty() && counts.len() != values.len() {
            return Err(Refusal::invalid_value(format!(
                "The parameters {at}.Values and {at}.Counts must be of the same size."
            )));
        }
        let mut samples = Vec::new();
        for (index, value) in values.iter().enumerate() {
            let number = value.number().filter(|number| holdable(*number)).ok_or_else(|| {
                Refusal::invalid_value(format!(
                    "The value {} for parameter {at}.Values.member.{} is invalid.",
                    shown(value),
                    index + 1
                ))
            })?;
            // Counts default to 1, as CloudWatch's do.
            let count = match counts.get(index) {
                None => 1.0,
                Some(count) => count
                    .number()
                    .filter(|count| holdable(*count) && *count >= 0.0)
                    .ok_or_else(|| {
                        Refusal::invalid_value(format!(
                            "The value {} for parameter {at}.Counts.member.{} is invalid.",
                            shown(count),
                            index + 1
                        ))
                    })?,
            };
            if count > 0.0 {
                samples.push(Sample::repeated(timestamp, number, count));
            }
        }
        samples
    } else {
        // The message is the stand-in's: CloudWatch's for this case is not documented.
        return Err(Refusal::missing(format!(
            "The parameter {at}.Value, {at}.StatisticValues or {at}.Values is required."
        )));
    };
    Ok(Checked {
        key: SeriesKey::new(namespace, name, &pairs),
        unit,
        samples,
    })
}

/// The request's data, each checked; the first refusal (CloudWatch refuses the whole request).
fn check_put(body: &Cbor, now: SystemTime) -> Result<Vec<Checked>, Refusal> {
    let namespace = namespace(body)?;
    let data = metric_data(body);
    if data.is_empty() {
        return Err(Refusal::missing("The parameter MetricData is required.".into()));
    }
    if data.len() > MAX_METRIC_DATA {
        return Err(Refusal::invalid_value(format!(
            "The collection MetricData must not have a size greater than {MAX_METRIC_DATA}."
        )));
    }
    data.iter()
        .map(|(at, item)| check_datum(&namespace, at, item, now))
        .collect()
}

/// PutMetricData: checks, records the call, stores the samples in the series GetMetricData reads,
/// and has the alarms evaluated on them. An operation without output: 200 with no body.
fn put_metric_data(shared: &Shared, body: &Cbor) -> Response {
    let checked = check_put(body, SystemTime::now());
    let mut records = shared.records();
    records.metric_data_calls.push(MetricDataRecord {
        namespace: body
            .member("Namespace")
            .and_then(Cbor::text)
            .unwrap_or_default()
            .to_string(),
        data: metric_data(body)
            .into_iter()
            .map(|(_, item)| datum_record(item))
            .collect(),
        refused: checked.as_ref().err().map(|refusal| refusal.0.to_string()),
    });
    let data = match checked {
        Ok(data) => data,
        Err(refusal) => return refusal.response(),
    };
    for datum in data {
        for sample in datum.samples {
            records.metrics.record_sample(datum.key.clone(), &datum.unit, sample);
        }
    }
    alarms::settle(&mut records);
    (StatusCode::OK, [("smithy-protocol", "rpc-v2-cbor")]).into_response()
}

/// DescribeAlarms, for metric alarms: by `AlarmNames`, `AlarmNamePrefix` or `StateValue`, in
/// name order, paged by `MaxRecords` (1 to 100, 50 by default) and `NextToken`. Composite alarms
/// do not exist in the stand-in.
fn describe_alarms(shared: &Shared, body: &Cbor) -> Response {
    let names: Vec<&str> = body
        .member("AlarmNames")
        .map(Cbor::items)
        .unwrap_or_default()
        .iter()
        .filter_map(Cbor::text)
        .collect();
    let prefix = body.member("AlarmNamePrefix").and_then(Cbor::text);
    if !names.is_empty() && prefix.is_some() {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterCombination",
            "com.amazonaws.cloudwatch#InvalidParameterCombinationException",
            "AlarmNamePrefix and AlarmNames cannot both be specified.",
        );
    }
    let state = body.member("StateValue").and_then(Cbor::text);
    let metric_alarms = body
        .member("AlarmTypes")
        .is_none_or(|types| types.items().iter().any(|kind| kind.text() == Some("MetricAlarm")));
    let max = match body.member("MaxRecords").map(Cbor::integer) {
        None => 50,
        Some(Some(n @ 1..=100)) => n as usize,
        Some(_) => {
            return Refusal::invalid_value("The parameter MaxRecords must be between 1 and 100.".into()).response();
        }
    };
    let records = alarms::settled(shared);
    let chosen: Vec<&alarms::AlarmRecord> = records
        .alarms
        .values()
        .filter(|_| metric_alarms)
        .filter(|record| names.is_empty() || names.contains(&record.alarm.name.as_str()))
        .filter(|record| prefix.is_none_or(|prefix| record.alarm.name.starts_with(prefix)))
        .filter(|record| state.is_none_or(|state| record.state.value.as_str() == state))
        .collect();
    let offset = match body.member("NextToken").and_then(Cbor::text) {
        None => 0,
        Some(token) => match token
            .strip_prefix("local-alarms-")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(offset) if offset < chosen.len() => offset,
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidNextToken",
                    "com.amazonaws.cloudwatch#InvalidNextToken",
                    "The service returned an invalid NextToken.",
                );
            }
        },
    };
    let end = offset.saturating_add(max).min(chosen.len());
    let mut out = Writer::default();
    out.map(if end < chosen.len() { 3 } else { 2 });
    out.text("MetricAlarms").array(end - offset);
    for record in &chosen[offset..end] {
        write_alarm(&mut out, record);
    }
    out.text("CompositeAlarms").array(0);
    if end < chosen.len() {
        out.text("NextToken").text(&format!("local-alarms-{end}"));
    }
    (
        StatusCode::OK,
        [("smithy-protocol", "rpc-v2-cbor"), ("content-type", "application/cbor")],
        out.bytes,
    )
        .into_response()
}

/// One `MetricAlarm` of DescribeAlarms' answer.
fn write_alarm(out: &mut Writer, record: &alarms::AlarmRecord) {
    let alarm = &record.alarm;
    let percentile = alarm.statistic.starts_with('p');
    let since = record.state.since;
    out.map(15 + usize::from(since.is_some()));
    out.text("AlarmName").text(&alarm.name);
    out.text("AlarmArn").text(&format!(
        "arn:aws:cloudwatch:us-east-1:000000000000:alarm:{}",
        alarm.name
    ));
    out.text("ActionsEnabled").boolean(true);
    out.text("StateValue").text(record.state.value.as_str());
    out.text("StateReason").text(&record.state.reason);
    if let Some(since) = since {
        out.text("StateUpdatedTimestamp").timestamp(since);
    }
    out.text("MetricName").text(&alarm.metric_name);
    out.text("Namespace").text(&alarm.namespace);
    out.text(if percentile { "ExtendedStatistic" } else { "Statistic" })
        .text(&alarm.statistic);
    out.text("Dimensions").array(alarm.dimensions.len());
    for (name, value) in &alarm.dimensions {
        out.map(2).text("Name").text(name).text("Value").text(value);
    }
    out.text("Period").head(0, u64::from(alarm.period));
    out.text("EvaluationPeriods")
        .head(0, u64::from(alarm.evaluation_periods));
    out.text("DatapointsToAlarm")
        .head(0, u64::from(alarm.datapoints_to_alarm));
    out.text("Threshold").double(alarm.threshold);
    out.text("ComparisonOperator").text(&alarm.comparison_operator);
    out.text("TreatMissingData").text(&alarm.treat_missing_data);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_writes_what_the_reader_reads() {
        let mut written = Writer::default();
        written
            .map(3)
            .text("a")
            .array(2)
            .double(1.5)
            .timestamp(SystemTime::UNIX_EPOCH + Duration::from_secs(70_000));
        written
            .text("long")
            .text(&"x".repeat(300))
            .text("n")
            .head(0, 5_000_000_000);
        let read_back = read(&mut minicbor::Decoder::new(&written.bytes), 8).expect("valid CBOR");
        assert_eq!(
            read_back.get("a"),
            Some(&Cbor::Array(vec![
                Cbor::Float(1.5),
                Cbor::Tagged(1, Box::new(Cbor::Int(70_000)))
            ]))
        );
        assert_eq!(read_back.get("long").and_then(Cbor::text).map(str::len), Some(300));
        assert_eq!(read_back.get("n").and_then(Cbor::integer), Some(5_000_000_000));
    }

    #[test]
    fn indefinite_maps_and_strings_are_read() {
        // {_ "k": (_ "ab", "c"), "t": 1(1.5)}, as an SDK may encode it.
        let bytes = [
            0xbf, 0x61, b'k', 0x7f, 0x62, b'a', b'b', 0x61, b'c', 0xff, 0x61, b't', 0xc1, 0xf9, 0x3e, 0x00, 0xff,
        ];
        let item = read(&mut minicbor::Decoder::new(&bytes), 8).expect("valid CBOR");
        assert_eq!(item.get("k").and_then(Cbor::text), Some("abc"));
        assert_eq!(
            item.get("t").and_then(Cbor::timestamp),
            Some(SystemTime::UNIX_EPOCH + Duration::from_millis(1500))
        );
    }

    #[test]
    fn query_ids_follow_cloudwatch_s_pattern() {
        assert!(valid_id("new_errors") && valid_id("m1"));
        assert!(!valid_id("") && !valid_id("1m") && !valid_id("Errors") && !valid_id("a-b"));
    }

    /// The stand-in's CloudWatch, through the real client, giving up at the first error so that
    /// a test reads it.
    mod through_the_sdk {
        use std::time::{Duration, SystemTime};

        use aws_sdk_cloudwatch::Client;
        use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
        use aws_sdk_cloudwatch::primitives::DateTime;
        use aws_sdk_cloudwatch::types::{
            Dimension, Metric, MetricDataQuery, MetricDatum, MetricStat, ScanBy, StandardUnit, StateValue, StatisticSet,
        };

        use crate::kit::minutes_ago;
        use crate::{AlarmStateValue, Fault, LocalAws, MetricAlarm, Operation};

        const MINUTE: Duration = Duration::from_secs(60);

        async fn cloudwatch(aws: &LocalAws) -> Client {
            Client::new(&crate::kit::local_sdk_config(&aws.endpoint_url(), false).await)
        }

        /// A `metric` datum of `function` (dimension `FunctionName`) valued `value` at `at`.
        fn datum(metric: &str, function: &str, at: SystemTime, value: f64) -> MetricDatum {
            MetricDatum::builder()
                .metric_name(metric)
                .dimensions(Dimension::builder().name("FunctionName").value(function).build())
                .timestamp(DateTime::from(at))
                .value(value)
                .unit(StandardUnit::None)
                .build()
        }

        /// PutMetricData in `namespace`; the error code CloudWatch refused it with.
        async fn put(client: &Client, namespace: &str, data: Vec<MetricDatum>) -> Result<(), Option<String>> {
            client
                .put_metric_data()
                .namespace(namespace)
                .set_metric_data(Some(data))
                .send()
                .await
                .map(|_| ())
                .map_err(|error| error.code().map(str::to_string))
        }

        /// `stat` of `preflight`'s `metric` for `function` per minute in `[from, to)`, oldest first.
        async fn read(
            client: &Client,
            metric: &str,
            function: &str,
            stat: &str,
            from: SystemTime,
            to: SystemTime,
        ) -> Vec<(SystemTime, f64)> {
            let metric = Metric::builder()
                .namespace("preflight")
                .metric_name(metric)
                .dimensions(Dimension::builder().name("FunctionName").value(function).build())
                .build();
            let query = MetricDataQuery::builder()
                .id("m")
                .metric_stat(MetricStat::builder().metric(metric).period(60).stat(stat).build())
                .build();
            let answer = client
                .get_metric_data()
                .metric_data_queries(query)
                .start_time(DateTime::from(from))
                .end_time(DateTime::from(to))
                .scan_by(ScanBy::TimestampAscending)
                .send()
                .await
                .expect("GetMetricData");
            let result = &answer.metric_data_results()[0];
            result
                .timestamps()
                .iter()
                .map(|at| SystemTime::try_from(*at).expect("a time"))
                .zip(result.values().iter().copied())
                .collect()
        }

        #[tokio::test]
        async fn put_metric_data_is_read_back_by_get_metric_data() {
            let aws = LocalAws::start().await.expect("start the stand-in");
            let client = cloudwatch(&aws).await;
            let t0 = minutes_ago(5);
            let second = Duration::from_secs(1);
            let data = vec![
                datum("CanaryFailing", "my-api", t0 + second * 10, 1.0),
                datum("CanaryFailing", "my-api", t0 + second * 20, 0.0),
                datum("CanaryFailing", "my-api", t0 + MINUTE + second * 10, 0.0),
                datum("CanaryFailing", "worker", t0 + second * 10, 1.0),
                // 10 three times and 20 once.
                MetricDatum::builder()
                    .metric_name("Latency")
                    .dimensions(Dimension::builder().name("FunctionName").value("my-api").build())
                    .timestamp(DateTime::from(t0))
                    .values(10.0)
                    .values(20.0)
                    .counts(3.0)
                    .counts(1.0)
                    .build(),
                MetricDatum::builder()
                    .metric_name("Batch")
                    .dimensions(Dimension::builder().name("FunctionName").value("my-api").build())
                    .timestamp(DateTime::from(t0))
                    .statistic_values(
                        StatisticSet::builder()
                            .sample_count(4.0)
                            .sum(10.0)
                            .minimum(1.0)
                            .maximum(4.0)
                            .build(),
                    )
                    .build(),
            ];
            assert_eq!(put(&client, "preflight", data).await, Ok(()));

            let to = t0 + MINUTE * 3;
            let maxima = read(&client, "CanaryFailing", "my-api", "Maximum", t0, to).await;
            assert_eq!(maxima, [(t0, 1.0), (t0 + MINUTE, 0.0)]);
            let counts = read(&client, "CanaryFailing", "my-api", "SampleCount", t0, to).await;
            assert_eq!(
                counts,
                [(t0, 2.0), (t0 + MINUTE, 1.0)],
                "two samples in the first minute"
            );
            let other = read(&client, "CanaryFailing", "worker", "Sum", t0, to).await;
            assert_eq!(other, [(t0, 1.0)], "each function its own series");
            assert_eq!(
                read(&client, "Latency", "my-api", "SampleCount", t0, to).await,
                [(t0, 4.0)]
            );
            assert_eq!(read(&client, "Latency", "my-api", "p50", t0, to).await, [(t0, 10.0)]);
            assert_eq!(read(&client, "Batch", "my-api", "Average", t0, to).await, [(t0, 2.5)]);

            let calls = aws.put_metric_data_calls();
            assert_eq!(calls.len(), 1);
            assert_eq!(
                (calls[0].namespace.as_str(), calls[0].refused.as_deref()),
                ("preflight", None)
            );
            let first = &calls[0].data[0];
            assert_eq!(first.metric_name, "CanaryFailing");
            assert_eq!(first.dimensions, [("FunctionName".to_string(), "my-api".to_string())]);
            assert_eq!((first.value, first.unit.as_deref()), (Some(1.0), Some("None")));
            assert_eq!(first.timestamp, Some(t0 + second * 10));
            assert_eq!(calls[0].data[5].statistic_values, Some([4.0, 10.0, 1.0, 4.0]));
        }

        #[tokio::test]
        async fn put_metric_data_refuses_what_cloudwatch_refuses_and_stores_none_of_it() {
            let aws = LocalAws::start().await.expect("start the stand-in");
            let client = cloudwatch(&aws).await;
            let now = SystemTime::now();
            let good = || datum("CanaryFailing", "my-api", minutes_ago(3), 1.0);
            let code = |code: &str| Err(Some(code.to_string()));
            let day = Duration::from_secs(24 * 3600);

            assert_eq!(
                put(&client, "AWS/Lambda", vec![good()]).await,
                code("InvalidParameterValue")
            );
            let too_old = datum("CanaryFailing", "my-api", now - day * 15, 1.0);
            assert_eq!(
                put(&client, "preflight", vec![good(), too_old]).await,
                code("InvalidParameterValue"),
                "one bad datum refuses the whole request"
            );
            let ahead = datum("CanaryFailing", "my-api", now + Duration::from_secs(3 * 3600), 1.0);
            assert_eq!(
                put(&client, "preflight", vec![ahead]).await,
                code("InvalidParameterValue")
            );
            let both = MetricDatum::builder()
                .metric_name("CanaryFailing")
                .value(1.0)
                .statistic_values(
                    StatisticSet::builder()
                        .sample_count(1.0)
                        .sum(1.0)
                        .minimum(1.0)
                        .maximum(1.0)
                        .build(),
                )
                .build();
            assert_eq!(
                put(&client, "preflight", vec![both]).await,
                code("InvalidParameterCombination")
            );
            let nothing = MetricDatum::builder().metric_name("CanaryFailing").build();
            assert_eq!(put(&client, "preflight", vec![nothing]).await, code("MissingParameter"));
            let mut wide = MetricDatum::builder().metric_name("CanaryFailing").value(1.0);
            for n in 0..31 {
                wide = wide.dimensions(Dimension::builder().name(format!("D{n}")).value("v").build());
            }
            assert_eq!(
                put(&client, "preflight", vec![wide.build()]).await,
                code("InvalidParameterValue")
            );
            // Over 10 KB, the SDK gzips the body: both sizes arrive compressed.
            let many = |n: usize| (0..n).map(|_| good()).collect::<Vec<_>>();
            assert_eq!(
                put(&client, "preflight", many(1001)).await,
                code("InvalidParameterValue")
            );
            let refused = aws.put_metric_data_calls();
            assert_eq!(refused.len(), 7);
            assert!(refused.iter().all(|call| call.refused.is_some()), "{refused:?}");
            let from = minutes_ago(5);
            let stored = read(&client, "CanaryFailing", "my-api", "SampleCount", from, now).await;
            assert_eq!(stored, [], "nothing refused is stored");

            assert_eq!(put(&client, "preflight", many(1000)).await, Ok(()));
            let thirteen_days = datum("CanaryFailing", "my-api", now - day * 13, 1.0);
            assert_eq!(put(&client, "preflight", vec![thirteen_days]).await, Ok(()));
            let stored = read(&client, "CanaryFailing", "my-api", "SampleCount", from, now).await;
            assert_eq!(stored, [(minutes_ago(3), 1000.0)]);
        }

        #[tokio::test]
        async fn put_metric_data_meets_injected_faults_with_cloudwatch_s_codes() {
            let aws = LocalAws::start().await.expect("start the stand-in");
            let client = cloudwatch(&aws).await;
            aws.inject(Operation::PutMetricData, Fault::Throttle, 1);
            aws.inject(Operation::PutMetricData, Fault::AccessDenied, 1);
            let data = || vec![datum("CanaryFailing", "my-api", minutes_ago(2), 1.0)];
            assert_eq!(put(&client, "preflight", data()).await, Err(Some("Throttling".into())));
            assert_eq!(
                put(&client, "preflight", data()).await,
                Err(Some("AccessDenied".into()))
            );
            assert_eq!(put(&client, "preflight", data()).await, Ok(()));
            assert_eq!(aws.calls(Operation::PutMetricData), 3);
            assert_eq!(aws.put_metric_data_calls().len(), 1, "faulted calls send nothing");
        }

        #[tokio::test]
        async fn an_alarm_goes_to_alarm_at_the_end_of_a_failing_minute_and_stays_ok_without_data() {
            let aws = LocalAws::start().await.expect("start the stand-in");
            let client = cloudwatch(&aws).await;
            let alarm = MetricAlarm::canary_failing("my-api");
            let name = alarm.name.clone();
            aws.put_metric_alarm(alarm);
            let state = |aws: &LocalAws| aws.alarm_state(&name).map(|state| (state.value, state.since));
            assert_eq!(state(&aws), Some((AlarmStateValue::InsufficientData, None)));

            let t0 = minutes_ago(10);
            let in_minute = |n: u32| t0 + MINUTE * n + Duration::from_secs(1);
            put(
                &client,
                "preflight",
                vec![datum("CanaryFailing", "my-api", in_minute(0), 0.0)],
            )
            .await
            .expect("a 0");
            assert_eq!(state(&aws), Some((AlarmStateValue::Ok, Some(t0 + MINUTE))));
            // Three minutes without data: not breaching, so still OK (`missing` would be
            // INSUFFICIENT_DATA).
            aws.evaluate_alarms_until(t0 + MINUTE * 4);
            assert_eq!(state(&aws), Some((AlarmStateValue::Ok, Some(t0 + MINUTE))));
            // Another function's failure is another series.
            put(
                &client,
                "preflight",
                vec![datum("CanaryFailing", "worker", in_minute(4), 1.0)],
            )
            .await
            .expect("worker's 1");
            assert_eq!(state(&aws), Some((AlarmStateValue::Ok, Some(t0 + MINUTE))));

            put(
                &client,
                "preflight",
                vec![datum("CanaryFailing", "my-api", in_minute(5), 1.0)],
            )
            .await
            .expect("a 1");
            assert_eq!(state(&aws), Some((AlarmStateValue::Alarm, Some(t0 + MINUTE * 6))));
            put(
                &client,
                "preflight",
                vec![datum("CanaryFailing", "my-api", in_minute(6), 0.0)],
            )
            .await
            .expect("a 0 again");
            assert_eq!(state(&aws), Some((AlarmStateValue::Ok, Some(t0 + MINUTE * 7))));
            let history: Vec<AlarmStateValue> = aws.alarm_history(&name).iter().map(|s| s.value).collect();
            assert_eq!(
                history,
                [AlarmStateValue::Ok, AlarmStateValue::Alarm, AlarmStateValue::Ok]
            );

            let described = client
                .describe_alarms()
                .alarm_names(&name)
                .send()
                .await
                .expect("DescribeAlarms");
            let alarm = &described.metric_alarms()[0];
            assert_eq!(alarm.state_value(), Some(&StateValue::Ok));
            let since = alarm
                .state_updated_timestamp()
                .map(|at| SystemTime::try_from(*at).expect("a time"));
            assert_eq!(since, Some(t0 + MINUTE * 7));
            assert_eq!((alarm.period(), alarm.threshold()), (Some(60), Some(1.0)));
            assert_eq!(alarm.treat_missing_data(), Some("notBreaching"));
        }
    }
}
