//! Metrics as CloudWatch Embedded Metric Format: one JSON record per invocation, written to
//! standard output, which Lambda sends to CloudWatch Logs, where CloudWatch extracts the metrics.
//! No API call, no client, nothing on the hook's critical path but one line.
//!
//! Dimensions are few and of low cardinality (the flow, the verdict or action), so that a team's
//! alarm on failed verdicts is one metric, not one per deployment.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// The CloudWatch namespace of every preflight metric.
pub const NAMESPACE: &str = "preflight";

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
}
