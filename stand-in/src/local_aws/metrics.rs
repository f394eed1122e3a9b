//! The stand-in's CloudWatch metrics: the samples its Lambda, PutMetricData and the tests publish,
//! kept per series (namespace, metric name and exact dimension set), and the statistics
//! GetMetricData and the alarms compute over them per period. Plain data; `cloudwatch.rs` serves
//! it and `alarms.rs` evaluates the alarms on it.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

/// A series: a metric under exactly one set of dimensions (sorted by name, so that a query
/// naming them in any order finds it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct SeriesKey {
    pub(super) namespace: String,
    pub(super) metric_name: String,
    pub(super) dimensions: Vec<(String, String)>,
}

impl SeriesKey {
    pub(super) fn new(namespace: &str, metric_name: &str, dimensions: &[(&str, &str)]) -> SeriesKey {
        let mut dimensions: Vec<(String, String)> = dimensions
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        dimensions.sort();
        SeriesKey {
            namespace: namespace.into(),
            metric_name: metric_name.into(),
            dimensions,
        }
    }
}

/// What one publication put into a series at one time: a single value (a count of 1), a value
/// that occurred `count` times (PutMetricData's `Values` and `Counts`), or a statistic set whose
/// values are not known one by one (`StatisticValues`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Sample {
    pub(super) at: SystemTime,
    pub(super) count: f64,
    pub(super) sum: f64,
    pub(super) minimum: f64,
    pub(super) maximum: f64,
}

impl Sample {
    /// One value.
    pub(super) fn value(at: SystemTime, value: f64) -> Sample {
        Sample::repeated(at, value, 1.0)
    }

    /// A value that occurred `count` times.
    pub(super) fn repeated(at: SystemTime, value: f64, count: f64) -> Sample {
        Sample {
            at,
            count,
            sum: value * count,
            minimum: value,
            maximum: value,
        }
    }

    /// The single value all of the sample's occurrences had, when it is known (CloudWatch computes
    /// percentiles only from such samples).
    fn exact(&self) -> Option<f64> {
        (self.minimum == self.maximum).then_some(self.minimum)
    }
}

/// One series' unit and samples, in the order they were published.
#[derive(Debug, Clone, Default)]
pub(super) struct Series {
    pub(super) unit: String,
    pub(super) samples: Vec<Sample>,
}

/// Every series published so far, and which of the watched ones (those an alarm evaluates) got
/// samples since the alarms last looked.
#[derive(Debug, Default)]
pub(super) struct MetricStore {
    series: HashMap<SeriesKey, Series>,
    watched: HashSet<SeriesKey>,
    fresh: Vec<(SeriesKey, SystemTime)>,
}

impl MetricStore {
    /// Publishes one value.
    pub(super) fn record(&mut self, key: SeriesKey, unit: &str, at: SystemTime, value: f64) {
        self.record_sample(key, unit, Sample::value(at, value));
    }

    /// Publishes one sample. A series keeps the unit of its first sample, as a series published
    /// under one unit is another series under another in CloudWatch.
    pub(super) fn record_sample(&mut self, key: SeriesKey, unit: &str, sample: Sample) {
        if self.watched.contains(&key) {
            self.fresh.push((key.clone(), sample.at));
        }
        let series = self.series.entry(key).or_insert_with(|| Series {
            unit: unit.into(),
            samples: Vec::new(),
        });
        series.samples.push(sample);
    }

    /// The series `key` names exactly, if anything was published in it.
    pub(super) fn series(&self, key: &SeriesKey) -> Option<&Series> {
        self.series.get(key)
    }

    /// From now on, samples published in `key` are handed to [`MetricStore::take_fresh`].
    pub(super) fn watch(&mut self, key: SeriesKey) {
        self.watched.insert(key);
    }

    /// The watched series that got samples since the last call, each with its sample's time.
    pub(super) fn take_fresh(&mut self) -> Vec<(SeriesKey, SystemTime)> {
        std::mem::take(&mut self.fresh)
    }

    /// What Lambda publishes for one invocation started `at`, in namespace `AWS/Lambda`: under
    /// `FunctionName`; with `Resource` (`NAME:QUALIFIER`) when invoked with a qualifier; and
    /// with `ExecutedVersion` as well when that qualifier is an alias. `Invocations` and
    /// `Duration` always, `Errors` only for a function error: Lambda publishes no zero counts,
    /// so a minute without errors has no `Errors` datapoint at all.
    pub(super) fn lambda_invocation(&mut self, invocation: &LambdaInvocation<'_>, at: SystemTime) {
        let name = invocation.function;
        let mut sets: Vec<Vec<(&str, &str)>> = vec![vec![("FunctionName", name)]];
        if let Some(resource) = &invocation.resource {
            sets.push(vec![("FunctionName", name), ("Resource", resource)]);
            if let Some(version) = invocation.executed_version {
                sets.push(vec![
                    ("FunctionName", name),
                    ("Resource", resource),
                    ("ExecutedVersion", version),
                ]);
            }
        }
        let milliseconds = invocation.duration.as_secs_f64() * 1000.0;
        for dimensions in sets {
            self.record(
                SeriesKey::new("AWS/Lambda", "Invocations", &dimensions),
                "Count",
                at,
                1.0,
            );
            if invocation.function_error {
                self.record(SeriesKey::new("AWS/Lambda", "Errors", &dimensions), "Count", at, 1.0);
            }
            self.record(
                SeriesKey::new("AWS/Lambda", "Duration", &dimensions),
                "Milliseconds",
                at,
                milliseconds,
            );
        }
    }

    /// What an Application Load Balancer publishes for one request to a target group, in
    /// namespace `AWS/ApplicationELB` under exactly `LoadBalancer` (`app/NAME/ID`) and
    /// `TargetGroup` (`targetgroup/NAME/ID`): `RequestCount`, `TargetResponseTime` in seconds,
    /// and `HTTPCode_Target_5XX_Count` only for a 5xx answer (no zero counts, as ELB).
    pub(super) fn target_group_request(
        &mut self,
        load_balancer: &str,
        target_group: &str,
        at: SystemTime,
        status: u16,
        latency: Duration,
    ) {
        let dimensions = [("LoadBalancer", load_balancer), ("TargetGroup", target_group)];
        let key = |name: &str| SeriesKey::new("AWS/ApplicationELB", name, &dimensions);
        self.record(key("RequestCount"), "Count", at, 1.0);
        if (500..600).contains(&status) {
            self.record(key("HTTPCode_Target_5XX_Count"), "Count", at, 1.0);
        }
        self.record(key("TargetResponseTime"), "Seconds", at, latency.as_secs_f64());
    }
}

/// One Lambda invocation, as its metrics describe it.
pub(super) struct LambdaInvocation<'a> {
    pub(super) function: &'a str,
    /// `NAME:QUALIFIER`, when invoked with a qualifier.
    pub(super) resource: Option<String>,
    /// The version an alias routed to, when invoked through an alias.
    pub(super) executed_version: Option<&'a str>,
    pub(super) function_error: bool,
    pub(super) duration: Duration,
}

/// A statistic GetMetricData can ask for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Statistic {
    Sum,
    SampleCount,
    Average,
    Minimum,
    Maximum,
    /// `pNN` or `pNN.NN`: the percentile, 0 to 100.
    Percentile(f64),
}

impl Statistic {
    /// Reads a statistic's name; `None` for one CloudWatch would not take or the stand-in does
    /// not compute (trimmed means, `IQM` and the like).
    pub(super) fn parse(name: &str) -> Option<Statistic> {
        match name {
            "Sum" => Some(Statistic::Sum),
            "SampleCount" => Some(Statistic::SampleCount),
            "Average" => Some(Statistic::Average),
            "Minimum" => Some(Statistic::Minimum),
            "Maximum" => Some(Statistic::Maximum),
            _ => {
                let number = name.strip_prefix('p')?;
                // Digits, with at most two after the point, as CloudWatch's pNN.NN.
                let (whole, fraction) = number.split_once('.').unwrap_or((number, "0"));
                let digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
                if !digits(whole) || !digits(fraction) || fraction.len() > 2 {
                    return None;
                }
                let value: f64 = number.parse().ok()?;
                (0.0..=100.0).contains(&value).then_some(Statistic::Percentile(value))
            }
        }
    }

    /// The statistic of a period's samples (never empty: a period without samples has no
    /// datapoint at all); `None` for a percentile of samples whose values are not known one by
    /// one (statistic sets), which CloudWatch cannot compute either.
    fn of(self, samples: &[Sample]) -> Option<f64> {
        let count: f64 = samples.iter().map(|sample| sample.count).sum();
        let sum: f64 = samples.iter().map(|sample| sample.sum).sum();
        let value = match self {
            Statistic::Sum => sum,
            Statistic::SampleCount => count,
            Statistic::Average => sum / count,
            Statistic::Minimum => samples.iter().map(|s| s.minimum).fold(f64::INFINITY, f64::min),
            Statistic::Maximum => samples.iter().map(|s| s.maximum).fold(f64::NEG_INFINITY, f64::max),
            // By nearest rank over the raw samples: exact, where CloudWatch's percentiles are an
            // approximation from its own sketches; a judge must not depend on the difference.
            Statistic::Percentile(p) => {
                let mut values = samples
                    .iter()
                    .map(|sample| sample.exact().map(|value| (value, sample.count)))
                    .collect::<Option<Vec<(f64, f64)>>>()?;
                values.sort_by(|a, b| a.0.total_cmp(&b.0));
                let rank = ((p / 100.0) * count).ceil().max(1.0);
                let mut seen = 0.0;
                let mut found = values.last()?.0;
                for (value, occurrences) in values {
                    seen += occurrences;
                    if seen >= rank {
                        found = value;
                        break;
                    }
                }
                found
            }
        };
        Some(value)
    }
}

/// The datapoints of `series` from `start` (already rounded down to the minute) until `end`
/// (exclusive), one per `period` counted from `start`, oldest first: each stamped with its
/// period's start, and none for a period without samples. `unit`, when asked for, must be the
/// series' own, or there is no data, as in CloudWatch.
pub(super) fn datapoints(
    series: &Series,
    statistic: Statistic,
    unit: Option<&str>,
    start: SystemTime,
    end: SystemTime,
    period: Duration,
) -> Vec<(SystemTime, f64)> {
    if unit.is_some_and(|unit| unit != series.unit) || period.is_zero() {
        return Vec::new();
    }
    let mut by_period: std::collections::BTreeMap<u64, Vec<Sample>> = std::collections::BTreeMap::new();
    for sample in &series.samples {
        if sample.at < start || sample.at >= end {
            continue;
        }
        let since = sample.at.duration_since(start).unwrap_or_default();
        let index = since.as_nanos() / period.as_nanos();
        by_period.entry(index as u64).or_default().push(*sample);
    }
    by_period
        .into_iter()
        .filter_map(|(index, samples)| {
            let period_start = start + period * u32::try_from(index).unwrap_or(u32::MAX);
            Some((period_start, statistic.of(&samples)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_by_name() {
        assert_eq!(Statistic::parse("p99"), Some(Statistic::Percentile(99.0)));
        assert_eq!(Statistic::parse("p99.9"), Some(Statistic::Percentile(99.9)));
        assert_eq!(Statistic::parse("p99.99"), Some(Statistic::Percentile(99.99)));
        for bad in ["p", "p101", "p99.999", "P99", "p-1", "tm99", "average", "p9a"] {
            assert_eq!(Statistic::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let at = SystemTime::UNIX_EPOCH;
        let values: Vec<Sample> = (1..=10).rev().map(|v| Sample::value(at, f64::from(v))).collect();
        assert_eq!(Statistic::Percentile(90.0).of(&values), Some(9.0));
        assert_eq!(Statistic::Percentile(91.0).of(&values), Some(10.0));
        assert_eq!(Statistic::Percentile(0.0).of(&values), Some(1.0));
        assert_eq!(Statistic::Percentile(50.0).of(&values), Some(5.0));
        assert_eq!(Statistic::Average.of(&values), Some(5.5));
    }

    #[test]
    fn repeated_values_and_statistic_sets_count_as_their_occurrences() {
        let at = SystemTime::UNIX_EPOCH;
        // 1 three times and 10 once: the median is 1, the 80th percentile 10.
        let repeated = [Sample::repeated(at, 1.0, 3.0), Sample::value(at, 10.0)];
        assert_eq!(Statistic::SampleCount.of(&repeated), Some(4.0));
        assert_eq!(Statistic::Sum.of(&repeated), Some(13.0));
        assert_eq!(Statistic::Percentile(50.0).of(&repeated), Some(1.0));
        assert_eq!(Statistic::Percentile(80.0).of(&repeated), Some(10.0));
        let set = Sample {
            at,
            count: 4.0,
            sum: 10.0,
            minimum: 1.0,
            maximum: 4.0,
        };
        assert_eq!(Statistic::Average.of(&[set]), Some(2.5));
        assert_eq!(Statistic::Maximum.of(&[set]), Some(4.0));
        assert_eq!(
            Statistic::Percentile(50.0).of(&[set]),
            None,
            "no percentile of a statistic set"
        );
    }

    #[test]
    fn periods_count_from_the_start_and_empty_ones_have_no_datapoint() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(600);
        let series = Series {
            unit: "Count".into(),
            samples: [10, 70, 119, 250, 300]
                .into_iter()
                .map(|seconds| Sample::value(start + Duration::from_secs(seconds), 1.0))
                .collect(),
        };
        let minute = Duration::from_secs(60);
        let points = datapoints(&series, Statistic::Sum, None, start, start + minute * 5, minute);
        let expected = vec![(start, 1.0), (start + minute, 2.0), (start + minute * 4, 1.0)];
        assert_eq!(
            points, expected,
            "no datapoint for minutes 2 and 3; 300 s is past the end"
        );
        assert!(datapoints(&series, Statistic::Sum, Some("Seconds"), start, start + minute, minute).is_empty());
    }
}
