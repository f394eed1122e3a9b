//! The stand-in's CloudWatch metrics: the samples its Lambda and the tests publish, kept per
//! series (namespace, metric name and exact dimension set), and the statistics GetMetricData
//! computes over them per period. Plain data; `cloudwatch.rs` serves it.

use std::collections::HashMap;
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

/// One series' unit and raw samples, in the order they were published.
#[derive(Debug, Clone, Default)]
pub(super) struct Series {
    pub(super) unit: String,
    pub(super) samples: Vec<(SystemTime, f64)>,
}

/// Every series published so far.
#[derive(Debug, Default)]
pub(super) struct MetricStore {
    series: HashMap<SeriesKey, Series>,
}

impl MetricStore {
    /// Publishes one sample. A series keeps the unit of its first sample, as a series published
    /// under one unit is another series under another in CloudWatch.
    pub(super) fn record(&mut self, key: SeriesKey, unit: &str, at: SystemTime, value: f64) {
        let series = self.series.entry(key).or_insert_with(|| Series {
            unit: unit.into(),
            samples: Vec::new(),
        });
        series.samples.push((at, value));
    }

    /// The series `key` names exactly, if anything was published in it.
    pub(super) fn series(&self, key: &SeriesKey) -> Option<&Series> {
        self.series.get(key)
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
    /// datapoint at all).
    fn of(self, values: &mut [f64]) -> f64 {
        let count = values.len() as f64;
        match self {
            Statistic::Sum => values.iter().sum(),
            Statistic::SampleCount => count,
            Statistic::Average => values.iter().sum::<f64>() / count,
            Statistic::Minimum => values.iter().copied().fold(f64::INFINITY, f64::min),
            Statistic::Maximum => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            // By nearest rank over the raw samples: exact, where CloudWatch's percentiles are an
            // approximation from its own sketches; a judge must not depend on the difference.
            Statistic::Percentile(p) => {
                values.sort_by(f64::total_cmp);
                let rank = ((p / 100.0) * count).ceil().max(1.0) as usize;
                values[rank.min(values.len()) - 1]
            }
        }
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
    let mut by_period: std::collections::BTreeMap<u64, Vec<f64>> = std::collections::BTreeMap::new();
    for (at, value) in &series.samples {
        if *at < start || *at >= end {
            continue;
        }
        let since = at.duration_since(start).unwrap_or_default();
        let index = since.as_nanos() / period.as_nanos();
        by_period.entry(index as u64).or_default().push(*value);
    }
    by_period
        .into_iter()
        .map(|(index, mut values)| {
            let period_start = start + period * u32::try_from(index).unwrap_or(u32::MAX);
            (period_start, statistic.of(&mut values))
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
        let mut values: Vec<f64> = (1..=10).rev().map(f64::from).collect();
        assert_eq!(Statistic::Percentile(90.0).of(&mut values), 9.0);
        assert_eq!(Statistic::Percentile(91.0).of(&mut values), 10.0);
        assert_eq!(Statistic::Percentile(0.0).of(&mut values), 1.0);
        assert_eq!(Statistic::Percentile(50.0).of(&mut values), 5.0);
        assert_eq!(Statistic::Average.of(&mut values), 5.5);
    }

    #[test]
    fn periods_count_from_the_start_and_empty_ones_have_no_datapoint() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(600);
        let series = Series {
            unit: "Count".into(),
            samples: vec![
                (start + Duration::from_secs(10), 1.0),
                (start + Duration::from_secs(70), 1.0),
                (start + Duration::from_secs(119), 1.0),
                (start + Duration::from_secs(250), 1.0),
                (start + Duration::from_secs(300), 1.0),
            ],
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
