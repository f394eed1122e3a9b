//! The stand-in's CloudWatch metric alarms: defined by tests (the facade's `put_metric_alarm`),
//! evaluated over the stored series as CloudWatch evaluates them, and then honoured by the
//! stand-in's CodeDeploy, which stops the deployments whose groups name an alarm in `ALARM`.
//!
//! Time is the data's. Tests and the rehearsal publish datapoints stamped in the past, so no wall
//! clock can say when a period is over; instead, a period is evaluated once data for it has
//! arrived: each new sample in a series an alarm watches has the alarm evaluated at the end of
//! the period the sample falls in (and at the ends of the periods since its last evaluation, which
//! had no data). Real CloudWatch evaluates each alarm on its own schedule, about once a minute,
//! and its data arrives a little late; the end of the period is the earliest CloudWatch could
//! change the state, so the times here are lower bounds. [`advance_all`] lets time pass without
//! data, as CloudWatch's schedule does.
//!
//! Simplifications, each said where it is made: the N most recent periods are the whole
//! evaluation range (CloudWatch looks further back when some are missing); under `missing` and
//! `ignore`, the periods present are judged as if they were all; a sample published late into a
//! period already evaluated counts at the next evaluation only.

use std::sync::MutexGuard;
use std::time::{Duration, SystemTime};

use super::codedeploy;
use super::metrics::{self, MetricStore, SeriesKey, Statistic};
use super::model::{AlarmState, AlarmStateValue, MetricAlarm};
use super::records::{Records, Shared};

/// How an alarm compares a datapoint with its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    GreaterOrEqual,
    Greater,
    Less,
    LessOrEqual,
}

impl Comparison {
    fn parse(name: &str) -> Option<Comparison> {
        match name {
            "GreaterThanOrEqualToThreshold" => Some(Comparison::GreaterOrEqual),
            "GreaterThanThreshold" => Some(Comparison::Greater),
            "LessThanThreshold" => Some(Comparison::Less),
            "LessThanOrEqualToThreshold" => Some(Comparison::LessOrEqual),
            // The anomaly-detection operators need a band the stand-in does not compute.
            _ => None,
        }
    }

    fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::GreaterOrEqual => value >= threshold,
            Comparison::Greater => value > threshold,
            Comparison::Less => value < threshold,
            Comparison::LessOrEqual => value <= threshold,
        }
    }

    fn words(self) -> &'static str {
        match self {
            Comparison::GreaterOrEqual => "greater than or equal to",
            Comparison::Greater => "greater than",
            Comparison::Less => "less than",
            Comparison::LessOrEqual => "less than or equal to",
        }
    }
}

/// `TreatMissingData`: what a period without a datapoint counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Missing {
    /// `missing`: nothing; with nothing at all, `INSUFFICIENT_DATA`.
    Unknown,
    NotBreaching,
    Breaching,
    /// `ignore`: with nothing at all, the state stays.
    Ignore,
}

impl Missing {
    fn parse(name: &str) -> Option<Missing> {
        match name {
            "missing" => Some(Missing::Unknown),
            "notBreaching" => Some(Missing::NotBreaching),
            "breaching" => Some(Missing::Breaching),
            "ignore" => Some(Missing::Ignore),
            _ => None,
        }
    }
}

/// An alarm as the stand-in holds it: its definition, read once, and its state.
#[derive(Debug, Clone)]
pub(super) struct AlarmRecord {
    pub(super) alarm: MetricAlarm,
    pub(super) key: SeriesKey,
    statistic: Statistic,
    comparison: Comparison,
    missing: Missing,
    period: Duration,
    pub(super) state: AlarmState,
    /// Every state it changed to, oldest first.
    pub(super) history: Vec<AlarmState>,
    /// The end of the last period evaluated.
    evaluated_until: Option<SystemTime>,
    /// How many deployments had been created when the state last changed (`Records`'
    /// `created_count`): the ones created later started while the alarm was already in this
    /// state.
    changed_after: u64,
}

impl AlarmRecord {
    /// The alarm, checked as PutMetricAlarm checks it, in `INSUFFICIENT_DATA` as a new alarm is;
    /// why not, for a definition CloudWatch would refuse or the stand-in cannot evaluate.
    pub(super) fn new(alarm: MetricAlarm) -> Result<AlarmRecord, String> {
        let statistic = Statistic::parse(&alarm.statistic)
            .ok_or_else(|| format!("{} is not a statistic the stand-in evaluates", alarm.statistic))?;
        let comparison = Comparison::parse(&alarm.comparison_operator).ok_or_else(|| {
            format!(
                "{} is not a comparison the stand-in evaluates",
                alarm.comparison_operator
            )
        })?;
        let missing = Missing::parse(&alarm.treat_missing_data)
            .ok_or_else(|| format!("{} is not a TreatMissingData value", alarm.treat_missing_data))?;
        if !(matches!(alarm.period, 10 | 20 | 30) || (alarm.period > 0 && alarm.period.is_multiple_of(60))) {
            return Err(format!(
                "a period is 10, 20, 30 or a multiple of 60 seconds, not {}",
                alarm.period
            ));
        }
        if alarm.evaluation_periods == 0
            || alarm.datapoints_to_alarm == 0
            || alarm.datapoints_to_alarm > alarm.evaluation_periods
        {
            return Err(format!(
                "{} datapoints to alarm of {} evaluation periods: CloudWatch wants 1 <= M <= N",
                alarm.datapoints_to_alarm, alarm.evaluation_periods
            ));
        }
        let dimensions: Vec<(&str, &str)> = alarm
            .dimensions
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        Ok(AlarmRecord {
            key: SeriesKey::new(&alarm.namespace, &alarm.metric_name, &dimensions),
            statistic,
            comparison,
            missing,
            period: Duration::from_secs(u64::from(alarm.period)),
            state: AlarmState {
                value: AlarmStateValue::InsufficientData,
                since: None,
                reason: "Unchecked: Initial alarm creation".into(),
            },
            history: Vec::new(),
            evaluated_until: None,
            changed_after: 0,
            alarm,
        })
    }

    /// The same alarm redefined, as PutMetricAlarm on an existing name: a new configuration, the
    /// state kept.
    pub(super) fn redefined(mut self, previous: &AlarmRecord) -> AlarmRecord {
        self.state = previous.state.clone();
        self.history = previous.history.clone();
        self.evaluated_until = previous.evaluated_until;
        self.changed_after = previous.changed_after;
        self
    }

    /// Evaluates the alarm at each period end from its last evaluation up to `end` (a period
    /// end), returning the states it changed to. A period end at or before the last one evaluated
    /// (late data) is the last one again: CloudWatch never goes back, a later evaluation whose
    /// range holds the late data sees it.
    fn advance(&mut self, store: &MetricStore, end: SystemTime) -> Vec<AlarmState> {
        let ends: Vec<SystemTime> = match self.evaluated_until {
            None => vec![end],
            Some(last) if end <= last => vec![last],
            Some(last) => {
                let mut ends = Vec::new();
                let mut at = last + self.period;
                while at <= end {
                    ends.push(at);
                    at += self.period;
                }
                // Across a long gap, every range without data gives the same state: only the first
                // and last ranges' worth of evaluations can differ.
                let keep = self.alarm.evaluation_periods as usize + 1;
                if ends.len() > 2 * keep {
                    ends.drain(keep..ends.len() - keep);
                }
                ends
            }
        };
        ends.into_iter().filter_map(|at| self.evaluate(store, at)).collect()
    }

    /// Evaluates the `evaluation_periods` periods that end at `end`; the new state, if it changed.
    fn evaluate(&mut self, store: &MetricStore, end: SystemTime) -> Option<AlarmState> {
        self.evaluated_until = Some(end);
        let n = self.alarm.evaluation_periods;
        let start = end.checked_sub(self.period * n)?;
        let points = store
            .series(&self.key)
            .map(|series| metrics::datapoints(series, self.statistic, None, start, end, self.period))
            .unwrap_or_default();
        let present = points.len() as u32;
        let missing = n.saturating_sub(present);
        let threshold = self.alarm.threshold;
        let breaching = points
            .iter()
            .filter(|(_, value)| self.comparison.breaches(*value, threshold))
            .count() as u32;
        let m = self.alarm.datapoints_to_alarm;
        let (value, counted) = match self.missing {
            Missing::Breaching => (breaching + missing >= m, breaching + missing),
            Missing::NotBreaching => (breaching >= m, breaching),
            // Stand-in simplification: CloudWatch fills the missing periods from further back in
            // its evaluation range; here the periods present are judged alone.
            Missing::Unknown | Missing::Ignore => (breaching >= m, breaching),
        };
        let value = match (self.missing, present) {
            (Missing::Unknown, 0) => AlarmStateValue::InsufficientData,
            (Missing::Ignore, 0) => return None,
            _ if value => AlarmStateValue::Alarm,
            _ => AlarmStateValue::Ok,
        };
        if value == self.state.value {
            return None;
        }
        let reason = match value {
            AlarmStateValue::InsufficientData => format!(
                "Insufficient Data: {n} datapoint{} missing, none to evaluate.",
                if n == 1 { " was" } else { "s were" }
            ),
            _ => format!(
                "Threshold Crossed: {counted} out of the last {n} datapoints {} {} the threshold ({threshold}) \
                 (minimum {m} datapoint{} for OK -> ALARM transition).",
                if counted == 1 { "was" } else { "were" },
                self.comparison.words(),
                if m == 1 { "" } else { "s" },
            ),
        };
        self.state = AlarmState {
            value,
            since: Some(end),
            reason,
        };
        self.history.push(self.state.clone());
        Some(self.state.clone())
    }
}

/// The end of the period `at` falls in, periods counted from the epoch.
fn period_end(at: SystemTime, period: Duration) -> SystemTime {
    let since = at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let periods = since.as_secs() / period.as_secs().max(1) + 1;
    SystemTime::UNIX_EPOCH + period * u32::try_from(periods).unwrap_or(u32::MAX)
}

/// The last period end at or before `at`.
fn period_end_before(at: SystemTime, period: Duration) -> SystemTime {
    let since = at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let periods = since.as_secs() / period.as_secs().max(1);
    SystemTime::UNIX_EPOCH + period * u32::try_from(periods).unwrap_or(u32::MAX)
}

/// A state an alarm changed to.
struct Change {
    alarm: String,
    state: AlarmState,
}

/// Brings every alarm up to date with the samples published since the last look, then has
/// CodeDeploy honour the alarms: what the services and the facade do before they answer, so
/// that what they say follows from every datapoint stored.
pub(super) fn settle(records: &mut Records) {
    let fresh = records.metrics.take_fresh();
    let changes = if fresh.is_empty() {
        Vec::new()
    } else {
        advance_alarms(records, |alarm| {
            let mut ends: Vec<SystemTime> = fresh
                .iter()
                .filter(|(key, _)| *key == alarm.key)
                .map(|(_, at)| period_end(*at, alarm.period))
                .collect();
            ends.sort();
            ends.dedup();
            ends
        })
    };
    honour(records, changes);
}

/// Lets time pass without data until `until`: every alarm evaluated at each of its period ends
/// up to then (one that was never evaluated, at the last one only), as CloudWatch's schedule
/// evaluates them; then CodeDeploy honours them.
pub(super) fn advance_all(records: &mut Records, until: SystemTime) {
    settle(records);
    let changes = advance_alarms(records, |alarm| {
        let end = period_end_before(until, alarm.period);
        match alarm.evaluated_until {
            Some(last) if end <= last => Vec::new(),
            _ => vec![end],
        }
    });
    honour(records, changes);
}

/// Advances each alarm to the period ends `ends` gives it; the states they changed to.
fn advance_alarms(records: &mut Records, ends: impl Fn(&AlarmRecord) -> Vec<SystemTime>) -> Vec<Change> {
    let mut changes = Vec::new();
    let Records {
        alarms,
        metrics,
        created_count,
        ..
    } = records;
    for (name, alarm) in alarms.iter_mut() {
        for end in ends(alarm) {
            let changed = alarm.advance(metrics, end);
            if !changed.is_empty() {
                alarm.changed_after = *created_count;
            }
            changes.extend(changed.into_iter().map(|state| Change {
                alarm: name.clone(),
                state,
            }));
        }
    }
    changes
}

/// CodeDeploy's side: each change to `ALARM`, in time order, stops the deployments then in
/// progress whose groups name the alarm; then any deployment still in progress whose group names
/// an alarm in `ALARM` is stopped too (CodeDeploy polls the alarms' state, not their changes): one
/// created after the alarm changed is stopped as it starts.
fn honour(records: &mut Records, mut changes: Vec<Change>) {
    changes.sort_by_key(|change| change.state.since);
    for change in changes {
        if let (AlarmStateValue::Alarm, Some(at)) = (change.state.value, change.state.since) {
            codedeploy::stop_on_alarm(records, &change.alarm, at, u64::MAX);
        }
    }
    let in_alarm: Vec<(String, SystemTime, u64)> = records
        .alarms
        .iter()
        .filter(|(_, alarm)| alarm.state.value == AlarmStateValue::Alarm)
        .filter_map(|(name, alarm)| Some((name.clone(), alarm.state.since?, alarm.changed_after)))
        .collect();
    for (name, since, changed_after) in in_alarm {
        codedeploy::stop_on_alarm(records, &name, since, changed_after);
    }
}

/// The records, with the alarms and the deployments they stop brought up to date.
pub(super) fn settled(shared: &Shared) -> MutexGuard<'_, super::records::Records> {
    let mut records = shared.records();
    settle(&mut records);
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn alarm(missing: &str, n: u32, m: u32) -> AlarmRecord {
        let alarm = MetricAlarm {
            name: "my-api-canary-failing".into(),
            namespace: "preflight".into(),
            metric_name: "CanaryFailing".into(),
            dimensions: vec![("FunctionName".into(), "my-api".into())],
            statistic: "Maximum".into(),
            period: 60,
            evaluation_periods: n,
            datapoints_to_alarm: m,
            threshold: 1.0,
            comparison_operator: "GreaterThanOrEqualToThreshold".into(),
            treat_missing_data: missing.into(),
        };
        AlarmRecord::new(alarm).expect("a valid alarm")
    }

    /// A store with `value` published in the minute starting `minute` minutes after `t0`.
    fn publish(store: &mut MetricStore, alarm: &AlarmRecord, t0: SystemTime, minute: u32, value: f64) {
        store.record(
            alarm.key.clone(),
            "None",
            t0 + MINUTE * minute + Duration::from_secs(5),
            value,
        );
    }

    fn values(changes: &[AlarmState]) -> Vec<(&'static str, SystemTime)> {
        changes
            .iter()
            .map(|state| (state.value.as_str(), state.since.unwrap_or(SystemTime::UNIX_EPOCH)))
            .collect()
    }

    #[test]
    fn a_breaching_minute_alarms_at_its_end_and_a_gap_is_ok_when_missing_data_is_not_breaching() {
        let t0 = SystemTime::UNIX_EPOCH + MINUTE * 1000;
        let mut store = MetricStore::default();
        let mut record = alarm("notBreaching", 1, 1);
        publish(&mut store, &record, t0, 0, 1.0);
        let changes = record.advance(&store, t0 + MINUTE);
        assert_eq!(values(&changes), [("ALARM", t0 + MINUTE)]);
        // Nothing published for minutes 1 to 3: OK at the end of minute 1, and it stays so.
        publish(&mut store, &record, t0, 4, 0.0);
        let changes = record.advance(&store, t0 + MINUTE * 5);
        assert_eq!(values(&changes), [("OK", t0 + MINUTE * 2)]);
        assert_eq!(record.evaluated_until, Some(t0 + MINUTE * 5));
    }

    #[test]
    fn missing_data_as_missing_is_insufficient() {
        let t0 = SystemTime::UNIX_EPOCH + MINUTE * 1000;
        let mut store = MetricStore::default();
        let mut record = alarm("missing", 1, 1);
        publish(&mut store, &record, t0, 0, 0.0);
        assert_eq!(values(&record.advance(&store, t0 + MINUTE)), [("OK", t0 + MINUTE)]);
        assert_eq!(
            values(&record.advance(&store, t0 + MINUTE * 3)),
            [("INSUFFICIENT_DATA", t0 + MINUTE * 2)]
        );
    }

    #[test]
    fn m_of_n_counts_breaching_datapoints_in_the_last_n_periods() {
        let t0 = SystemTime::UNIX_EPOCH + MINUTE * 1000;
        let mut store = MetricStore::default();
        let mut record = alarm("notBreaching", 3, 2);
        publish(&mut store, &record, t0, 0, 1.0);
        assert_eq!(values(&record.advance(&store, t0 + MINUTE)), [("OK", t0 + MINUTE)]);
        publish(&mut store, &record, t0, 2, 1.0);
        assert_eq!(
            values(&record.advance(&store, t0 + MINUTE * 3)),
            [("ALARM", t0 + MINUTE * 3)]
        );
        // Minute 0 leaves the range at the end of minute 3.
        assert_eq!(
            values(&record.advance(&store, t0 + MINUTE * 4)),
            [("OK", t0 + MINUTE * 4)]
        );
    }

    #[test]
    fn definitions_cloudwatch_refuses_are_refused() {
        let base = alarm("notBreaching", 1, 1).alarm;
        let refused = |alarm: MetricAlarm| AlarmRecord::new(alarm).is_err();
        assert!(refused(MetricAlarm {
            datapoints_to_alarm: 2,
            ..base.clone()
        }));
        assert!(refused(MetricAlarm {
            period: 90,
            ..base.clone()
        }));
        assert!(refused(MetricAlarm {
            treat_missing_data: "NotBreaching".into(),
            ..base.clone()
        }));
        assert!(!refused(MetricAlarm {
            statistic: "p99".into(),
            ..base
        }));
    }

    #[test]
    fn period_ends_count_from_the_epoch() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(125);
        assert_eq!(
            period_end(at, MINUTE),
            SystemTime::UNIX_EPOCH + Duration::from_secs(180)
        );
        assert_eq!(
            period_end_before(at, MINUTE),
            SystemTime::UNIX_EPOCH + Duration::from_secs(120)
        );
        let exact = SystemTime::UNIX_EPOCH + Duration::from_secs(120);
        assert_eq!(
            period_end(exact, MINUTE),
            SystemTime::UNIX_EPOCH + Duration::from_secs(180)
        );
    }
}
