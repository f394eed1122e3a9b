//! What a judgement reads from CloudWatch (pure): each version's series, as AWS publishes them
//! apart, the `GetMetricData` queries of one look, and their datapoints read back into each
//! side's [`Traffic`].
//!
//! - A Lambda version behind a weighted alias: `AWS/Lambda` `Invocations`, `Errors` (Sum) and
//!   `Duration` (p99, milliseconds) under exactly `FunctionName`, `Resource` = `NAME:ALIAS` and
//!   `ExecutedVersion`. Invoking through an alias publishes no `NAME:VERSION` resource, and a
//!   query matches only the series with exactly its dimensions, so this is the set to ask for.
//! - A target group behind an Application Load Balancer: `AWS/ApplicationELB` `RequestCount`,
//!   `HTTPCode_Target_5XX_Count` (Sum) and `TargetResponseTime` (p99, seconds) under exactly
//!   `LoadBalancer` = `app/NAME/ID` and `TargetGroup` = `targetgroup/NAME/ID`.
//!
//! Both services publish a count only when it is not zero: a missing error count beside requests
//! is zero errors, and missing requests are no traffic; never the other way round.

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};

use super::judge::Traffic;
use super::window::Look;
use crate::plumbing::aws::cloudwatch::Datapoints;

/// What one side of a judgement is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A function version, as it ran behind `alias`.
    LambdaVersion {
        function: String,
        alias: String,
        version: String,
    },
    /// A target group, as its load balancer counted it. Both are CloudWatch's dimension values:
    /// `app/NAME/ID` and `targetgroup/NAME/ID`.
    TargetGroup {
        load_balancer: String,
        target_group: String,
    },
}

struct Series {
    namespace: &'static str,
    requests: &'static str,
    errors: &'static str,
    latency: &'static str,
    /// What one unit of `latency` is in milliseconds.
    latency_ms: f64,
    dimensions: Vec<(&'static str, String)>,
}

impl Subject {
    /// A target group behind an Application Load Balancer, from their ARNs: CloudWatch's
    /// dimensions are the ARNs' `targetgroup/NAME/ID` and `app/NAME/ID`. A Network Load Balancer's
    /// target groups are refused: they publish no request counts or response times.
    pub fn target_group(target_group_arn: &str, load_balancer_arn: &str) -> Result<Subject, String> {
        let after = |arn: &str, marker: &str| arn.find(marker).map(|at| arn[at + marker.len()..].to_string());
        let target_group = after(target_group_arn, ":targetgroup/")
            .map(|rest| format!("targetgroup/{rest}"))
            .ok_or_else(|| format!("`{target_group_arn}` is not a target group ARN (…:targetgroup/NAME/ID)"))?;
        let load_balancer = after(load_balancer_arn, ":loadbalancer/")
            .ok_or_else(|| format!("`{load_balancer_arn}` is not a load balancer ARN (…:loadbalancer/app/NAME/ID)"))?;
        if !load_balancer.starts_with("app/") {
            return Err(format!(
                "{target_group} is behind {load_balancer}, not an Application Load Balancer: only an ALB publishes \
                 each target group's requests, 5xx answers and response times"
            ));
        }
        Ok(Subject::TargetGroup {
            load_balancer,
            target_group,
        })
    }

    /// A target group as ELBv2 describes it: its ARN and the load balancers it serves (the first
    /// is the one CloudWatch counts it under).
    pub(crate) fn behind(target_group_arn: &str, load_balancers: &[String]) -> Result<Subject, String> {
        let load_balancer = load_balancers.first().ok_or_else(|| {
            format!("target group {target_group_arn} serves no load balancer, so it has no request metrics")
        })?;
        Subject::target_group(target_group_arn, load_balancer)
    }

    fn series(&self) -> Series {
        match self {
            Subject::LambdaVersion {
                function,
                alias,
                version,
            } => Series {
                namespace: "AWS/Lambda",
                requests: "Invocations",
                errors: "Errors",
                latency: "Duration",
                latency_ms: 1.0,
                dimensions: vec![
                    ("FunctionName", function.clone()),
                    ("Resource", format!("{function}:{alias}")),
                    ("ExecutedVersion", version.clone()),
                ],
            },
            Subject::TargetGroup {
                load_balancer,
                target_group,
            } => Series {
                namespace: "AWS/ApplicationELB",
                requests: "RequestCount",
                errors: "HTTPCode_Target_5XX_Count",
                latency: "TargetResponseTime",
                latency_ms: 1000.0,
                dimensions: vec![
                    ("LoadBalancer", load_balancer.clone()),
                    ("TargetGroup", target_group.clone()),
                ],
            },
        }
    }

    /// How the summary names it: `version 7`, `targetgroup/web-green/0123`.
    pub fn shown(&self) -> String {
        match self {
            Subject::LambdaVersion { version, .. } => format!("version {version}"),
            Subject::TargetGroup { target_group, .. } => target_group.clone(),
        }
    }
}

/// The query ids of a side: CloudWatch wants them to start with a lower-case letter.
const NEW: &str = "new";
const OLD: &str = "old";
/// The query id of the synthetic requests preflight sent over the look.
const SYNTHETIC: &str = "synthetic";

/// The metric preflight publishes (namespace `preflight`) for each minute it sent synthetic
/// traffic through a target's production path: how many requests it sent.
pub const SYNTHETIC_REQUESTS: &str = "SyntheticRequests";

/// The six queries of one look: requests, errors and p99 of both sides, one period each as
/// long as the look's period (so that CloudWatch computes each p99 over exactly a side's minutes);
/// and, when the target gets synthetic traffic, a seventh: the `SyntheticRequests` preflight
/// published under `synthetic`'s dimensions over the whole look.
pub(crate) fn queries(
    look: &Look,
    new: &Subject,
    old: &Subject,
    synthetic: Option<&[(&'static str, String)]>,
) -> Vec<MetricDataQuery> {
    let period = i32::try_from(look.period.as_secs()).unwrap_or(i32::MAX);
    let mut queries = Vec::with_capacity(7);
    if let Some(dimensions) = synthetic {
        let span = look.end().duration_since(look.start).unwrap_or_default();
        let metric = Metric::builder()
            .namespace(crate::plumbing::metrics::NAMESPACE)
            .metric_name(SYNTHETIC_REQUESTS)
            .set_dimensions(Some(
                dimensions
                    .iter()
                    .map(|(name, value)| Dimension::builder().name(*name).value(value).build())
                    .collect(),
            ))
            .build();
        let stat = MetricStat::builder()
            .metric(metric)
            .period(i32::try_from(span.as_secs()).unwrap_or(i32::MAX).max(60))
            .stat("Sum")
            .build();
        queries.push(
            MetricDataQuery::builder()
                .id(SYNTHETIC)
                .metric_stat(stat)
                .return_data(true)
                .build(),
        );
    }
    for (side, subject) in [(NEW, new), (OLD, old)] {
        let series = subject.series();
        for (what, metric, stat) in [
            ("requests", series.requests, "Sum"),
            ("errors", series.errors, "Sum"),
            ("p99", series.latency, "p99"),
        ] {
            let dimensions = series
                .dimensions
                .iter()
                .map(|(name, value)| Dimension::builder().name(*name).value(value).build())
                .collect();
            let metric = Metric::builder()
                .namespace(series.namespace)
                .metric_name(metric)
                .set_dimensions(Some(dimensions))
                .build();
            let stat = MetricStat::builder().metric(metric).period(period).stat(stat).build();
            queries.push(
                MetricDataQuery::builder()
                    .id(format!("{side}_{what}"))
                    .metric_stat(stat)
                    .return_data(true)
                    .build(),
            );
        }
    }
    queries
}

/// The synthetic requests preflight published over `look`, when they were asked for: missing
/// points are none sent (preflight publishes a minute's count only when it sent something).
pub(crate) fn synthetic_requests(look: &Look, datapoints: &Datapoints) -> Option<u64> {
    let points = datapoints.get(SYNTHETIC)?;
    let sent: f64 = points
        .iter()
        .filter(|(time, value)| *time >= look.start && *time < look.end() && value.is_finite())
        .map(|(_, value)| value.max(0.0))
        .sum();
    Some(sent.round() as u64)
}

/// Each side's traffic in its period of `look`.
pub(crate) fn read(look: &Look, datapoints: &Datapoints, new: &Subject, old: &Subject) -> (Traffic, Traffic) {
    (
        traffic(look, datapoints, NEW, look.new_period, new),
        traffic(look, datapoints, OLD, look.old_period, old),
    )
}

fn traffic(look: &Look, datapoints: &Datapoints, side: &str, period: u32, subject: &Subject) -> Traffic {
    let window = look.window_of(period);
    let in_window = |what: &str| -> Vec<f64> {
        datapoints
            .get(&format!("{side}_{what}"))
            .map(|points| {
                points
                    .iter()
                    .filter(|(time, value)| *time >= window.start && *time < window.end && value.is_finite())
                    .map(|(_, value)| *value)
                    .collect()
            })
            .unwrap_or_default()
    };
    let sum = |values: Vec<f64>| (!values.is_empty()).then(|| values.iter().sum::<f64>());
    let latency_ms = subject.series().latency_ms;
    Traffic {
        requests: sum(in_window("requests")),
        errors: sum(in_window("errors")),
        // One period spans the side's window, so there is one point; should CloudWatch ever
        // split it, the highest p99 stands (the new side is never flattered by an average).
        p99_ms: in_window("p99")
            .into_iter()
            .reduce(f64::max)
            .map(|p99| p99 * latency_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::canary::window::{Look, Window};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    fn at(minute: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_796_637_600 + minute * 60)
    }

    fn lambda(version: &str) -> Subject {
        Subject::LambdaVersion {
            function: "orders".into(),
            alias: "live".into(),
            version: version.into(),
        }
    }

    #[test]
    fn the_synthetic_requests_are_asked_for_only_when_sent_and_read_over_the_whole_look() {
        let look = Look::side_by_side(Window::covering(at(0), at(10))).unwrap();
        assert_eq!(queries(&look, &lambda("7"), &lambda("6"), None).len(), 6);
        let dimensions = [("FunctionName", "orders".to_string())];
        let asked = queries(&look, &lambda("7"), &lambda("6"), Some(&dimensions));
        let synthetic = asked.iter().find(|q| q.id() == Some("synthetic")).expect("asked");
        let stat = synthetic.metric_stat().unwrap();
        assert_eq!((stat.period(), stat.stat()), (Some(600), Some("Sum")));
        let metric = stat.metric().unwrap();
        assert_eq!(
            (metric.namespace(), metric.metric_name()),
            (Some("preflight"), Some("SyntheticRequests"))
        );
        let mut datapoints = Datapoints::new();
        assert_eq!(synthetic_requests(&look, &datapoints), None, "not asked, not read");
        datapoints.insert("synthetic".into(), vec![]);
        assert_eq!(
            synthetic_requests(&look, &datapoints),
            Some(0),
            "none published: none sent"
        );
        datapoints.insert("synthetic".into(), vec![(at(0), 40.0), (at(9), 2.0), (at(10), 99.0)]);
        assert_eq!(
            synthetic_requests(&look, &datapoints),
            Some(42),
            "only the look's minutes"
        );
    }

    #[test]
    fn a_lambda_version_is_read_by_its_executed_version_behind_the_alias() {
        let look = Look::side_by_side(Window::covering(at(0), at(10))).unwrap();
        let queries = queries(&look, &lambda("7"), &lambda("6"), None);
        let ids: Vec<&str> = queries.iter().filter_map(|q| q.id()).collect();
        assert_eq!(
            ids,
            [
                "new_requests",
                "new_errors",
                "new_p99",
                "old_requests",
                "old_errors",
                "old_p99"
            ]
        );
        let stat = queries[2].metric_stat().unwrap();
        assert_eq!((stat.period(), stat.stat()), (Some(600), Some("p99")));
        let metric = stat.metric().unwrap();
        assert_eq!(
            (metric.namespace(), metric.metric_name()),
            (Some("AWS/Lambda"), Some("Duration"))
        );
        let dimensions: Vec<(&str, &str)> = metric
            .dimensions()
            .iter()
            .map(|d| (d.name().unwrap_or(""), d.value().unwrap_or("")))
            .collect();
        assert_eq!(
            dimensions,
            [
                ("FunctionName", "orders"),
                ("Resource", "orders:live"),
                ("ExecutedVersion", "7")
            ]
        );
    }

    #[test]
    fn a_target_group_is_read_from_its_load_balancer_in_milliseconds() {
        let green = Subject::TargetGroup {
            load_balancer: "app/web/50dc6c495c0c9188".into(),
            target_group: "targetgroup/web-green/943f017f100becff".into(),
        };
        let look = Look::side_by_side(Window::covering(at(0), at(5))).unwrap();
        let queries = queries(&look, &green, &green, None);
        let metric = queries[1].metric_stat().unwrap().metric().unwrap();
        assert_eq!(metric.metric_name(), Some("HTTPCode_Target_5XX_Count"));
        let datapoints: Datapoints = [
            ("new_requests".to_string(), vec![(at(0), 40.0)]),
            ("new_p99".to_string(), vec![(at(0), 0.25)]),
        ]
        .into_iter()
        .collect();
        let (new, _) = read(&look, &datapoints, &green, &green);
        assert_eq!(new.p99_ms, Some(250.0));
    }

    #[test]
    fn a_target_group_s_dimensions_come_from_the_arns() {
        let green = Subject::target_group(
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-green/943f017f100becff",
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188",
        );
        assert_eq!(
            green,
            Ok(Subject::TargetGroup {
                load_balancer: "app/web/50dc6c495c0c9188".into(),
                target_group: "targetgroup/web-green/943f017f100becff".into(),
            })
        );
        let behind_nlb = Subject::target_group(
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tcp/943f017f100becff",
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/edge/50dc6c495c0c9188",
        );
        assert!(behind_nlb.unwrap_err().contains("not an Application Load Balancer"));
        assert!(
            Subject::target_group("web-green", "x")
                .unwrap_err()
                .contains("not a target group ARN")
        );
    }

    #[test]
    fn each_side_reads_its_own_period_and_absent_counts_stay_absent() {
        let look = Look::before_and_after(at(10), Duration::from_secs(300)).unwrap();
        let datapoints: Datapoints = [
            // The old version before the shift, the new one after it; each side's other period
            // must not leak in.
            ("old_requests".to_string(), vec![(at(5), 900.0), (at(10), 3.0)]),
            ("old_errors".to_string(), vec![]),
            ("old_p99".to_string(), vec![(at(5), 81.0)]),
            ("new_requests".to_string(), vec![(at(5), 2.0), (at(10), 700.0)]),
            ("new_errors".to_string(), vec![(at(10), 7.0)]),
            ("new_p99".to_string(), vec![(at(10), 95.0)]),
        ]
        .into_iter()
        .collect();
        let (new, old) = read(&look, &datapoints, &lambda("7"), &lambda("6"));
        assert_eq!(
            new,
            Traffic {
                requests: Some(700.0),
                errors: Some(7.0),
                p99_ms: Some(95.0)
            }
        );
        assert_eq!(
            old,
            Traffic {
                requests: Some(900.0),
                errors: None,
                p99_ms: Some(81.0)
            }
        );
    }
}
