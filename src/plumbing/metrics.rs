//! Metrics as CloudWatch Embedded Metric Format: one JSON record per invocation, written to
//! standard output, which Lambda sends to CloudWatch Logs, where CloudWatch extracts the metrics.
//! No API call, no client, nothing on the hook's critical path but one line.
//!
//! Dimensions are few and of low cardinality (the flow, the verdict or action), so that a team's
//! alarm on failed verdicts is one metric, not one per deployment. [`PUBLISHED`] lists every
//! metric preflight publishes, those sent with PutMetricData included.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// The CloudWatch namespace of every preflight metric.
pub const NAMESPACE: &str = "preflight";

/// One metric preflight publishes in [`NAMESPACE`]: its name, every dimension set it is published
/// under, and the values its `Flow` dimension takes. The tests hold the records the code builds,
/// the template's dashboard and the alarms the docs give against [`PUBLISHED`], so that a renamed
/// metric or a new dimension cannot leave a graph or an alarm watching nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    pub metric: &'static str,
    /// Each set of dimension names it is published under; the order within a set does not matter.
    pub dimension_sets: &'static [&'static [&'static str]],
    /// The values of its `Flow` dimension, when a set has one.
    pub flows: &'static [&'static str],
}

impl Published {
    /// Whether it is published under exactly the dimensions `names`, in any order.
    pub fn has_set(&self, names: &[&str]) -> bool {
        self.dimension_sets
            .iter()
            .any(|set| set.len() == names.len() && set.iter().all(|name| names.contains(name)))
    }
}

/// An entry of [`PUBLISHED`], one a line.
const fn of(
    metric: &'static str,
    dimension_sets: &'static [&'static [&'static str]],
    flows: &'static [&'static str],
) -> Published {
    Published {
        metric,
        dimension_sets,
        flows,
    }
}

/// The CodeDeploy hook's `Flow`, and its verdict record's dimensions: by flow and `Verdict`.
const CODEDEPLOY_HOOK: &[&str] = &["codedeploy_hook"];
const BY_VERDICT: &[&[&str]] = &[&["Flow", "Verdict"]];
/// ECS's hook's `Flow`, and its verdict record's: by flow and `HookStatus`.
const ECS_HOOK: &[&str] = &["ecs_hook"];
const BY_HOOK_STATUS: &[&[&str]] = &[&["Flow", "HookStatus"]];
/// A record whose one dimension is its flow.
const BY_FLOW: &[&[&str]] = &[&["Flow"]];
const MAINTENANCE: &[&str] = &["maintenance"];
const LIVE_JUDGE: &[&str] = &["live_judge"];
const HOOKS_AND_LIVE_JUDGE: &[&str] = &["codedeploy_hook", "ecs_hook", "live_judge"];

/// Every metric preflight publishes. A record built with [`Record`] goes out in the Embedded
/// Metric Format; `CanaryFailing` and `SyntheticRequests` go out with PutMetricData, each stamped
/// with the minute it tells of (the live judge's schedule time, the minute the requests were sent).
pub const PUBLISHED: &[Published] = &[
    // The hooks' verdict record (`checks::deciding`, `checks::describe`). `Verdicts` also by flow
    // and cause, and by fault alone, for the two alarms of docs/operations.md.
    // Each hook names its status its own way: one entry each, so that a graph of ECS's verdicts by
    // `Verdict` (which never has data) is caught.
    of(
        "Verdicts",
        &[&["Flow", "Verdict"], &["Flow", "Cause"], &["Fault"]],
        CODEDEPLOY_HOOK,
    ),
    of(
        "Verdicts",
        &[&["Flow", "HookStatus"], &["Flow", "Cause"], &["Fault"]],
        ECS_HOOK,
    ),
    of("Checks", BY_VERDICT, CODEDEPLOY_HOOK),
    of("Checks", BY_HOOK_STATUS, ECS_HOOK),
    of("ChecksFailed", BY_VERDICT, CODEDEPLOY_HOOK),
    of("ChecksFailed", BY_HOOK_STATUS, ECS_HOOK),
    of("CheckLatency", BY_VERDICT, CODEDEPLOY_HOOK),
    of("CheckLatency", BY_HOOK_STATUS, ECS_HOOK),
    of("Duration", BY_VERDICT, CODEDEPLOY_HOOK),
    of("Duration", BY_HOOK_STATUS, ECS_HOOK),
    of("Skipped", BY_VERDICT, CODEDEPLOY_HOOK),
    of("Skipped", BY_HOOK_STATUS, ECS_HOOK),
    // Each canary judgement (`checks::canary`): the hooks' and the live judge's.
    of(
        "Judgements",
        &[&["Flow", "Judgement"]],
        &["codedeploy_hook", "ecs_hook", "live_judge"],
    ),
    // A verdict event EventBridge did not take (`checks::announce`).
    of("VerdictEventsNotSent", BY_FLOW, HOOKS_AND_LIVE_JUDGE),
    // The maintenance page's actions, each a count (`maintenance`).
    of("Shown", BY_FLOW, MAINTENANCE),
    of("AlreadyShown", BY_FLOW, MAINTENANCE),
    of("Removed", BY_FLOW, MAINTENANCE),
    of("Unchanged", BY_FLOW, MAINTENANCE),
    of("Ignored", BY_FLOW, MAINTENANCE),
    of("Swept", BY_FLOW, MAINTENANCE),
    of("Failed", BY_FLOW, MAINTENANCE),
    of("StalePagesRemoved", BY_FLOW, MAINTENANCE),
    // The live judge's run record (`codedeploy_hook::live`).
    of("LiveJudgeRuns", BY_FLOW, LIVE_JUDGE),
    of("DeploymentsInProgress", BY_FLOW, LIVE_JUDGE),
    of("CanariesJudged", BY_FLOW, LIVE_JUDGE),
    of("CanariesFailing", BY_FLOW, LIVE_JUDGE),
    of("LiveJudgeErrors", BY_FLOW, LIVE_JUDGE),
    // The live judge's per-function metric, for a deployment group's alarm (PutMetricData).
    of("CanaryFailing", &[&["FunctionName"]], &[]),
    // The synthetic requests sent each minute through a function's alias or an ECS service's
    // production listener, read back by a look to say what share of the judged requests were
    // preflight's own (PutMetricData).
    of("SyntheticRequests", &[&["FunctionName"], &["Service"]], &[]),
];

/// The entries of `metric` in [`PUBLISHED`] (one for each way its flows publish it).
pub fn published(metric: &str) -> impl Iterator<Item = &'static Published> + '_ {
    PUBLISHED.iter().filter(move |entry| entry.metric == metric)
}

/// Whether `metric` is published under exactly the dimensions `names` and, when they hold `Flow`
/// and `flow` is given, with that value, by one entry; `Err` says what is not, for a test's
/// message.
pub fn check_published(metric: &str, names: &[&str], flow: Option<&str>) -> Result<(), String> {
    let entries: Vec<&Published> = published(metric).collect();
    if entries.is_empty() {
        return Err(format!("`{metric}` is not a metric preflight publishes"));
    }
    let by_names: Vec<&&Published> = entries.iter().filter(|entry| entry.has_set(names)).collect();
    if by_names.is_empty() {
        let sets: Vec<_> = entries.iter().flat_map(|entry| entry.dimension_sets.iter()).collect();
        return Err(format!("`{metric}` is not published by {names:?}, only by {sets:?}"));
    }
    match flow {
        Some(flow) if names.contains(&"Flow") && !by_names.iter().any(|entry| entry.flows.contains(&flow)) => {
            let flows: Vec<_> = by_names.iter().flat_map(|entry| entry.flows.iter()).collect();
            Err(format!(
                "`{metric}` is not published by {names:?} with Flow = `{flow}`, only with {flows:?}"
            ))
        }
        _ => Ok(()),
    }
}

/// A CloudWatch unit EMF accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// One invocation's metrics: dimension values, and each metric's values.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The dimensions every metric is published with (the record's main dimension set).
    dimensions: Vec<(&'static str, String)>,
    /// Dimension values that only the extra sets use.
    extra_dimensions: Vec<(&'static str, String)>,
    /// Metrics published again under other dimension sets: (metric, the sets).
    also: Vec<(&'static str, Vec<Vec<&'static str>>)>,
    metrics: Vec<(&'static str, Unit, Vec<f64>)>,
}

impl Record {
    /// A record for `flow` (`codedeploy_hook`, `maintenance`), which is always a dimension.
    pub fn new(flow: &str) -> Record {
        Record {
            dimensions: vec![("Flow", flow.to_string())],
            extra_dimensions: Vec::new(),
            also: Vec::new(),
            metrics: Vec::new(),
        }
    }

    /// Adds a dimension value that only the sets given to [`Record::also_by`] use.
    pub fn extra_dimension(mut self, name: &'static str, value: impl Into<String>) -> Record {
        self.extra_dimensions.push((name, value.into()));
        self
    }

    /// Publishes `metric` also under each of `sets` (names of this record's dimensions), so that
    /// one alarm can watch it across what the main set tells apart.
    pub fn also_by(mut self, metric: &'static str, sets: &[&[&'static str]]) -> Record {
        self.also.push((metric, sets.iter().map(|set| set.to_vec()).collect()));
        self
    }

    /// Adds a dimension; keep its values few (a verdict, an action), never an id.
    pub fn dimension(mut self, name: &'static str, value: impl Into<String>) -> Record {
        self.dimensions.push((name, value.into()));
        self
    }

    /// Adds a metric with one value.
    pub fn metric(self, name: &'static str, unit: Unit, value: f64) -> Record {
        self.metric_values(name, unit, vec![value])
    }

    /// Adds a metric with several values (EMF takes up to 100 a record; more are cut).
    pub fn metric_values(mut self, name: &'static str, unit: Unit, mut values: Vec<f64>) -> Record {
        values.truncate(100);
        self.metrics.push((name, unit, values));
        self
    }

    /// The EMF document, stamped `timestamp_ms`.
    pub fn to_json(&self, timestamp_ms: u64) -> Value {
        let mut root = Map::new();
        let dimension_names: Vec<&str> = self.dimensions.iter().map(|(name, _)| *name).collect();
        let definitions: Vec<Value> = self
            .metrics
            .iter()
            .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.name()}))
            .collect();
        let mut directives = vec![json!({
            "Namespace": NAMESPACE,
            "Dimensions": [dimension_names],
            "Metrics": definitions,
        })];
        for (metric, sets) in &self.also {
            if let Some((name, unit, _)) = self.metrics.iter().find(|(name, _, _)| name == metric) {
                directives.push(json!({
                    "Namespace": NAMESPACE,
                    "Dimensions": sets,
                    "Metrics": [{"Name": name, "Unit": unit.name()}],
                }));
            }
        }
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": directives,
            }),
        );
        for (name, value) in self.dimensions.iter().chain(&self.extra_dimensions) {
            root.insert((*name).into(), Value::String(value.clone()));
        }
        for (name, _, values) in &self.metrics {
            let value = match values.as_slice() {
                [one] => json!(one),
                many => json!(many),
            };
            root.insert((*name).into(), value);
        }
        Value::Object(root)
    }

    /// Writes the record as one line of standard output.
    pub fn emit(&self) {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_millis() as u64)
            .unwrap_or(0);
        println!("{}", self.to_json(now_ms));
    }
}

/// Checks a document against the Embedded Metric Format specification's required structure;
/// `Err` says what is wrong. (Used by the tests of every record preflight writes.)
pub fn check_emf(document: &Value) -> Result<(), String> {
    let root = document.as_object().ok_or("the record is not a JSON object")?;
    let metadata = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("`_aws` is missing or not an object")?;
    metadata
        .get("Timestamp")
        .and_then(Value::as_u64)
        .ok_or("`_aws.Timestamp` must be a whole number of milliseconds")?;
    let directives = metadata
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .ok_or("`_aws.CloudWatchMetrics` must be an array")?;
    for directive in directives {
        let namespace = directive
            .get("Namespace")
            .and_then(Value::as_str)
            .ok_or("a directive needs a string `Namespace`")?;
        if namespace.is_empty() || namespace.len() > 1024 {
            return Err(format!("`Namespace` `{namespace}` must have 1 to 1024 characters"));
        }
        let sets = directive
            .get("Dimensions")
            .and_then(Value::as_array)
            .ok_or("a directive needs a `Dimensions` array")?;
        for set in sets {
            let names = set.as_array().ok_or("each dimension set must be an array")?;
            if names.len() > 30 {
                return Err("a dimension set holds at most 30 dimensions".into());
            }
            for name in names {
                let name = name.as_str().ok_or("a dimension name must be a string")?;
                if !root.get(name).is_some_and(Value::is_string) {
                    return Err(format!("dimension `{name}` has no string member at the root"));
                }
            }
        }
        let metrics = directive
            .get("Metrics")
            .and_then(Value::as_array)
            .ok_or("a directive needs a `Metrics` array")?;
        if metrics.len() > 100 {
            return Err("a directive holds at most 100 metrics".into());
        }
        for metric in metrics {
            let name = metric
                .get("Name")
                .and_then(Value::as_str)
                .ok_or("a metric needs a string `Name`")?;
            let numeric = match root.get(name) {
                Some(Value::Number(_)) => true,
                Some(Value::Array(values)) => values.len() <= 100 && values.iter().all(Value::is_number),
                _ => false,
            };
            if !numeric {
                return Err(format!(
                    "metric `{name}` needs a number or at most 100 numbers at the root"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_valid_emf_with_its_dimensions_and_values_at_the_root() {
        let record = Record::new("codedeploy_hook")
            .dimension("Verdict", "Failed")
            .metric("Verdicts", Unit::Count, 1.0)
            .metric_values("CheckLatency", Unit::Milliseconds, vec![12.0, 30.0]);
        let document = record.to_json(1_795_000_000_000);
        assert_eq!(check_emf(&document), Ok(()));
        assert_eq!(document["_aws"]["CloudWatchMetrics"][0]["Namespace"], "preflight");
        assert_eq!(
            document["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Flow", "Verdict"]])
        );
        assert_eq!(document["Verdict"], "Failed");
        assert_eq!(document["Verdicts"], 1.0);
        assert_eq!(document["CheckLatency"], json!([12.0, 30.0]));
    }

    #[test]
    fn a_metric_published_also_by_other_sets_gets_a_directive_of_its_own() {
        let document = Record::new("ecs_hook")
            .dimension("HookStatus", "FAILED")
            .extra_dimension("Cause", "NotPermitted")
            .extra_dimension("Fault", "Preflight")
            .metric("Verdicts", Unit::Count, 1.0)
            .metric("Checks", Unit::Count, 0.0)
            .also_by("Verdicts", &[&["Flow", "Cause"], &["Fault"]])
            .to_json(1);
        assert_eq!(check_emf(&document), Ok(()));
        let directives = &document["_aws"]["CloudWatchMetrics"];
        assert_eq!(directives[0]["Dimensions"], json!([["Flow", "HookStatus"]]));
        assert_eq!(directives[1]["Dimensions"], json!([["Flow", "Cause"], ["Fault"]]));
        assert_eq!(directives[1]["Metrics"], json!([{"Name": "Verdicts", "Unit": "Count"}]));
        assert_eq!(
            (&document["Cause"], &document["Fault"]),
            (&json!("NotPermitted"), &json!("Preflight"))
        );
    }

    #[test]
    fn the_checker_refuses_what_the_specification_refuses() {
        let good = Record::new("maintenance")
            .metric("Actions", Unit::Count, 1.0)
            .to_json(1);
        let mut missing_member = good.clone();
        missing_member.as_object_mut().map(|root| root.remove("Actions"));
        assert!(check_emf(&missing_member).unwrap_err().contains("`Actions`"));
        let mut numeric_dimension = good.clone();
        numeric_dimension["Flow"] = json!(3);
        assert!(check_emf(&numeric_dimension).unwrap_err().contains("dimension `Flow`"));
        let mut no_timestamp = good;
        no_timestamp["_aws"]["Timestamp"] = json!("now");
        assert!(check_emf(&no_timestamp).is_err());
    }

    /// Each metric an EMF document publishes: its name, each of its dimension sets, and the
    /// record's `Flow` value.
    fn published_by(document: &Value) -> Vec<(String, Vec<String>, Option<String>)> {
        let flow = document["Flow"].as_str().map(str::to_string);
        let mut found = Vec::new();
        for directive in document["_aws"]["CloudWatchMetrics"].as_array().into_iter().flatten() {
            assert_eq!(directive["Namespace"], NAMESPACE, "{document}");
            for metric in directive["Metrics"].as_array().into_iter().flatten() {
                for set in directive["Dimensions"].as_array().into_iter().flatten() {
                    let names = set
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(str::to_string);
                    found.push((
                        metric["Name"].as_str().unwrap_or_default().to_string(),
                        names.collect(),
                        flow.clone(),
                    ));
                }
            }
        }
        found
    }

    /// A canary judgement, as the hooks and the live judge record one.
    fn judgement() -> crate::checks::canary::TargetJudgement {
        use std::time::{Duration, UNIX_EPOCH};

        use crate::checks::canary::window::Window;
        use crate::checks::canary::{Judged, OnInconclusive, TargetJudgement};

        let window = Window::covering(UNIX_EPOCH, UNIX_EPOCH + Duration::from_secs(600));
        TargetJudgement {
            target: "my-api:live".into(),
            judged: Judged::unseen("version 2".into(), "version 1".into(), window, "no traffic".into()),
            on_inconclusive: OnInconclusive::Succeed,
        }
    }

    /// Every record the code builds, each from its real builder, named for the failure message.
    /// (This test of the plumbing reaches into the flows because it is the one place where every
    /// record is built side by side; the library's plumbing still depends on none of them.)
    fn every_record() -> Vec<(&'static str, Record)> {
        use std::time::Duration;

        use crate::checks::CheckResult;
        use crate::checks::announce::not_sent_record;
        use crate::checks::deciding::{Deciding, flow_record};
        use crate::checks::verdict::Cause;
        use crate::codedeploy_hook::Hook;
        use crate::codedeploy_hook::live::FLOW as LIVE_FLOW;
        use crate::codedeploy_hook::live::{self, LiveRun, run_record};
        use crate::ecs_hook::EcsHook;
        use crate::maintenance::Tally;

        let check = CheckResult {
            target: "my-api:2".into(),
            outcomes: Vec::new(),
            status: Some(500),
            latency: Duration::from_millis(12),
            failure: Some("status 500".into()),
            refused: None,
            waited: Duration::ZERO,
            out_of_time: false,
        };
        let elapsed = Duration::from_millis(40);
        let judgement = judgement();
        vec![
            (
                "the CodeDeploy hook's verdict",
                flow_record::<Hook>(
                    "Failed".into(),
                    Some(Cause::ReleaseFailed),
                    std::slice::from_ref(&check),
                    elapsed,
                ),
            ),
            (
                "the CodeDeploy hook's unread payload",
                flow_record::<Hook>(Hook::NO_VERDICT.into(), None, &[], elapsed),
            ),
            (
                "the ECS hook's answer",
                flow_record::<EcsHook>("FAILED".into(), Some(Cause::ReleaseFailed), &[check], elapsed),
            ),
            (
                "the ECS hook's unread payload",
                flow_record::<EcsHook>(EcsHook::NO_VERDICT.into(), None, &[], elapsed),
            ),
            ("the CodeDeploy hook's judgement", judgement.record(Hook::FLOW)),
            ("the ECS hook's judgement", judgement.record(EcsHook::FLOW)),
            ("the live judge's judgement", judgement.record(live::FLOW)),
            ("the live judge's idle run", run_record(&LiveRun::default())),
            (
                "the live judge's run with a deployment in progress",
                run_record(&LiveRun {
                    in_progress: Some(1),
                    ..LiveRun::default()
                }),
            ),
            ("the maintenance page's actions", Tally::default().record()),
            // `announce` builds this record inline: what is held here is the metric's name, the
            // constant it uses, under each hook's flow.
            (
                "the CodeDeploy hook's unsent verdict event",
                not_sent_record(Hook::FLOW),
            ),
            ("the ECS hook's unsent verdict event", not_sent_record(EcsHook::FLOW)),
            ("the live judge's unsent verdict event", not_sent_record(LIVE_FLOW)),
        ]
    }

    #[test]
    fn every_metric_the_code_publishes_is_in_the_registry_and_the_registry_holds_nothing_else() {
        use std::collections::BTreeSet;
        use std::time::UNIX_EPOCH;

        use crate::codedeploy_hook::live::{LiveJudgement, canary_failing_data};

        // What the records publish: (metric, its dimension names sorted), and (metric, Flow).
        let mut sets: BTreeSet<(String, Vec<String>)> = BTreeSet::new();
        let mut flows: BTreeSet<(String, Vec<String>, String)> = BTreeSet::new();
        for (builder, record) in every_record() {
            let document = record.to_json(1);
            assert_eq!(check_emf(&document), Ok(()), "{builder}");
            for (metric, mut names, flow) in published_by(&document) {
                let given: Vec<&str> = names.iter().map(String::as_str).collect();
                if let Err(why) = check_published(&metric, &given, flow.as_deref()) {
                    panic!("{builder}: {why}; add it to PUBLISHED (and to the dashboard) or publish what is there");
                }
                names.sort();
                if let (true, Some(flow)) = (names.iter().any(|name| name == "Flow"), flow) {
                    flows.insert((metric.clone(), names.clone(), flow));
                }
                sets.insert((metric, names));
            }
        }
        // The live judge's per-function metric goes out with PutMetricData, not in a record.
        let judged = LiveJudgement {
            deployment_id: "d-LOCAL00001".into(),
            deployment_group: "my-app/my-app-live".into(),
            function: "my-api".into(),
            judgement: judgement(),
            traffic: None,
            split_start: UNIX_EPOCH,
        };
        for datum in canary_failing_data(&[judged], UNIX_EPOCH) {
            let mut names: Vec<String> = datum.dimensions.iter().map(|(name, _)| name.to_string()).collect();
            let given: Vec<&str> = names.iter().map(String::as_str).collect();
            assert_eq!(
                check_published(datum.metric, &given, None),
                Ok(()),
                "the live judge's CanaryFailing"
            );
            names.sort();
            sets.insert((datum.metric.to_string(), names));
        }
        // The live judge and the ECS hook build the `SyntheticRequests` data inline: what is held
        // here is its name and its dimensions, from the constant and the functions they use.
        for (sender, synthetic) in [
            (
                "the live judge's synthetic requests",
                crate::codedeploy_hook::canary::synthetic_dimensions("my-api"),
            ),
            (
                "the ECS hook's synthetic requests",
                crate::ecs_hook::canary::synthetic_dimensions("my-service"),
            ),
        ] {
            let mut names: Vec<String> = synthetic.iter().map(|(name, _)| name.to_string()).collect();
            let given: Vec<&str> = names.iter().map(String::as_str).collect();
            let metric = crate::checks::canary::SYNTHETIC_REQUESTS;
            assert_eq!(check_published(metric, &given, None), Ok(()), "{sender}");
            names.sort();
            sets.insert((metric.to_string(), names));
        }

        // And the other way: nothing in the registry that no record publishes, which a dashboard
        // or an alarm could name and never see.
        for entry in PUBLISHED {
            for set in entry.dimension_sets {
                let mut names: Vec<String> = set.iter().map(|name| name.to_string()).collect();
                names.sort();
                assert!(
                    sets.contains(&(entry.metric.to_string(), names)),
                    "PUBLISHED has `{}` by {set:?}, which no record publishes",
                    entry.metric
                );
            }
            for set in entry.dimension_sets.iter().filter(|set| set.contains(&"Flow")) {
                let mut names: Vec<String> = set.iter().map(|name| name.to_string()).collect();
                names.sort();
                for flow in entry.flows {
                    assert!(
                        flows.contains(&(entry.metric.to_string(), names.clone(), flow.to_string())),
                        "PUBLISHED has `{}` by {set:?} with Flow = `{flow}`, which no record publishes",
                        entry.metric
                    );
                }
            }
        }
    }

    /// The files that publish metrics outside their tests, and how many times each builds a record
    /// or calls PutMetricData: each of them is built above.
    const PUBLISHERS: &[(&str, usize)] = &[
        ("src/checks/announce.rs", 1),
        ("src/checks/canary/mod.rs", 1),
        ("src/checks/deciding.rs", 1),
        // The run's record (twice: a schedule that cannot be read, a run), `CanaryFailing` and
        // `SyntheticRequests`.
        ("src/codedeploy_hook/live/mod.rs", 4),
        // `SyntheticRequests` at an ECS step.
        ("src/ecs_hook/canary/mod.rs", 1),
        ("src/maintenance/mod.rs", 1),
    ];

    #[test]
    fn every_place_that_publishes_a_metric_is_one_the_registry_test_builds() {
        use std::collections::BTreeMap;
        use std::path::Path;

        fn scan(dir: &Path, root: &Path, found: &mut BTreeMap<String, usize>) {
            for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
                let path = entry.expect("a directory entry").path();
                let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
                if path.is_dir() {
                    // Test folders (`codedeploy_hook/tests/`) publish nothing the function does.
                    if name != "tests" {
                        scan(&path, root, found);
                    }
                    continue;
                }
                let relative = path.strip_prefix(root).expect("under the crate").display().to_string();
                // The builder and the PutMetricData call themselves, and test files.
                if !name.ends_with(".rs")
                    || name == "tests.rs"
                    || ["src/plumbing/metrics.rs", "src/plumbing/aws/cloudwatch.rs"].contains(&relative.as_str())
                {
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("a source file");
                // A file's unit tests come last, in `#[cfg(test)] mod tests { … }`.
                let code = text.split("#[cfg(test)]\nmod tests {").next().unwrap_or_default();
                let count = code.matches("Record::new(").count() + code.matches("put_metric_data(").count();
                if count > 0 {
                    found.insert(relative, count);
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut found = BTreeMap::new();
        scan(&root.join("src"), root, &mut found);
        let known: BTreeMap<String, usize> = PUBLISHERS
            .iter()
            .map(|(file, count)| (file.to_string(), *count))
            .collect();
        assert_eq!(
            found, known,
            "a place that publishes a metric was added, moved or removed: put its metric in PUBLISHED, \
             build it in this module's registry test, and update PUBLISHERS"
        );
    }

    #[test]
    fn the_registry_tells_a_metric_by_its_exact_dimension_set_and_flow() {
        assert_eq!(check_published("Verdicts", &["Fault"], None), Ok(()));
        assert_eq!(
            check_published("Verdicts", &["Cause", "Flow"], Some("ecs_hook")),
            Ok(())
        );
        assert!(
            check_published("Verdicts", &["Flow"], None)
                .unwrap_err()
                .contains("not published by")
        );
        assert!(check_published("Verdicts", &["Flow", "Verdict", "Cause"], None).is_err());
        assert!(
            check_published("Verdict", &["Fault"], None)
                .unwrap_err()
                .contains("not a metric")
        );
        assert!(
            check_published("LiveJudgeRuns", &["Flow"], Some("live-judge"))
                .unwrap_err()
                .contains("Flow = `live-judge`")
        );
    }
}
