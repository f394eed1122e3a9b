//! The stand-in's CloudWatch GetMetricData, in Smithy RPC v2 CBOR as the SDKs speak it now
//! (`POST /service/GraniteServiceVersion20100801/operation/GetMetricData`, `smithy-protocol:
//! rpc-v2-cbor`, CBOR bodies, timestamps as tag 1 with epoch seconds), over the metrics the
//! stand-in's Lambda and the tests publish (`metrics.rs`).
//!
//! As CloudWatch: a query matches a series only when its dimension set is exactly the series'
//! set; StartTime is rounded down to the minute and periods are counted from it; a period
//! without samples has no datapoint; datapoints come newest first unless `ScanBy` says
//! otherwise; an answer larger than a page (100,800 datapoints, or fewer when the test says so)
//! is paged with `NextToken`. Errors carry `__type` and `message` in the body and, CloudWatch
//! being query-compatible, the query protocol's code in `x-amzn-query-error: CODE;Sender`,
//! which is the code the SDKs report. Metric math and Metrics Insights (`Expression`) are not
//! supported: such a query is answered with a ValidationError that says so.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minicbor::data::Type;
use sha2::{Digest, Sha256};

use super::faults::{apply_fault, take_fault};
use super::metrics::{self, SeriesKey, Statistic};
use super::model::{Fault, Operation};
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

fn fault_response(fault: Fault) -> Response {
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
            "User: arn:aws:sts::000000000000:assumed-role/preflight/CodeDeployHook_preflight is not authorized to \
             perform: cloudwatch:GetMetricData because no identity-based policy allows the \
             cloudwatch:GetMetricData action",
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

/// Serves `POST /service/GraniteServiceVersion20100801/operation/{operation}`.
pub(crate) async fn serve(State(shared): State<Arc<Shared>>, Path(operation): Path<String>, body: Bytes) -> Response {
    if operation != "GetMetricData" {
        return error(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            "UnknownOperationException",
            &format!("The stand-in's CloudWatch serves GetMetricData only, not {operation}."),
        );
    }
    if let Some(response) = apply_fault(take_fault(&shared, Operation::GetMetricData), fault_response).await {
        return response;
    }
    let mut decoder = minicbor::Decoder::new(&body);
    let parsed = match read(&mut decoder, 32) {
        Ok(parsed) => parsed,
        Err(problem) => {
            return error(
                StatusCode::BAD_REQUEST,
                "SerializationException",
                "SerializationException",
                &format!("The request body is not CBOR: {problem}"),
            );
        }
    };
    let (request, token) = match request(&parsed) {
        Ok(checked) => checked,
        Err(message) => return invalid(&message),
    };
    get_metric_data(&shared, &request, token.as_deref())
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
}
