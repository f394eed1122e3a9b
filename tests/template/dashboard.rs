//! The dashboard (`Dashboard=true`) and the alarms the docs give name only metrics preflight
//! publishes: each `preflight` metric they name, with its dimension names (and its `Flow` value
//! when it names one), is held against `preflight::plumbing::metrics::PUBLISHED`, which the
//! library's own test holds against the records the code builds. A renamed metric or a new
//! dimension fails here instead of leaving a graph or an alarm watching nothing.

use std::collections::BTreeSet;
use std::fmt;
use std::process::Command;

use preflight::plumbing::metrics::{NAMESPACE, PUBLISHED, check_published};
use serde_json::{Value, json};
use stand_in::installs::output;
use stand_in::kit::workspace_root;

use super::{python, resources};

/// One metric a graph or an alarm names: its namespace, its name, and its dimensions, each with
/// its value when one is named (a search's schema names dimensions without values).
#[derive(Debug, Clone, PartialEq)]
struct Named {
    namespace: String,
    metric: String,
    dimensions: Vec<(String, Option<String>)>,
}

impl Named {
    fn names(&self) -> Vec<&str> {
        self.dimensions.iter().map(|(name, _)| name.as_str()).collect()
    }

    fn value(&self, dimension: &str) -> Option<&str> {
        self.dimensions
            .iter()
            .find(|(name, _)| name == dimension)
            .and_then(|(_, value)| value.as_deref())
    }

    /// Held against the registry: the metric, exactly its dimension set, and its `Flow` value.
    fn check(&self) -> Result<(), String> {
        check_published(&self.metric, &self.names(), self.value("Flow"))
    }
}

impl fmt::Display for Named {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} {:?}", self.namespace, self.metric, self.dimensions)
    }
}

/// The metrics one row of a widget's `metrics` array names. A row is a metric
/// (`[Namespace, MetricName, DimensionName, DimensionValue, …, {rendering}]`, where `"."` repeats
/// the previous row's string in that place) or an expression (`[{"expression": …}]`), whose
/// SEARCH calls name metrics; other math names none of its own.
fn row_metrics(row: &Value, previous: &mut Vec<String>) -> Result<Vec<Named>, String> {
    let items = row
        .as_array()
        .ok_or(format!("a row of `metrics` is not an array: {row}"))?;
    if let Some(expression) = items.first().and_then(|first| first.get("expression")) {
        let expression = expression
            .as_str()
            .ok_or(format!("an expression is not a string: {row}"))?;
        return searches(expression);
    }
    let mut strings = Vec::new();
    for (place, item) in items.iter().take_while(|item| !item.is_object()).enumerate() {
        let text = item.as_str().ok_or(format!("a metric's part is not a string: {row}"))?;
        let text = match (text, previous.get(place)) {
            (".", Some(before)) => before.clone(),
            (".", None) => return Err(format!("`.` with nothing before it to repeat: {row}")),
            _ => text.to_string(),
        };
        strings.push(text);
    }
    *previous = strings.clone();
    let [namespace, metric, dimensions @ ..] = strings.as_slice() else {
        return Err(format!("a metric needs a namespace and a name: {row}"));
    };
    if dimensions.len() % 2 != 0 {
        return Err(format!("a dimension without its value: {row}"));
    }
    let dimensions = dimensions
        .chunks(2)
        .map(|pair| (pair[0].clone(), Some(pair[1].clone())))
        .collect();
    Ok(vec![Named {
        namespace: namespace.clone(),
        metric: metric.clone(),
        dimensions,
    }])
}

/// The metrics each `SEARCH('{Namespace,Dimension,…} MetricName="…" …', 'Stat', Period)` of an
/// expression names. The schema in braces names the dimension set; a search without one, or
/// without a `MetricName=` designator, could match a series no one meant, so it is refused.
fn searches(expression: &str) -> Result<Vec<Named>, String> {
    let mut named = Vec::new();
    for (_, after) in expression
        .match_indices("SEARCH(")
        .map(|(at, word)| expression.split_at(at + word.len()))
    {
        let query = after
            .trim_start()
            .strip_prefix('\'')
            .and_then(|rest| rest.split_once('\''))
            .map(|(query, _)| query.trim())
            .ok_or(format!("a SEARCH whose query is not in single quotes: {expression}"))?;
        let (schema, term) = query
            .strip_prefix('{')
            .and_then(|rest| rest.split_once('}'))
            .ok_or(format!(
                "a SEARCH without a metric schema {{Namespace,Dimension,…}}: {expression}"
            ))?;
        let mut parts = schema.split(',').map(|part| part.trim().trim_matches('"').to_string());
        let namespace = parts.next().unwrap_or_default();
        let dimensions: Vec<String> = parts.collect();
        let designators = designators(term);
        let metrics: Vec<&String> = designators
            .iter()
            .filter(|(key, _)| key == "MetricName")
            .map(|(_, value)| value)
            .collect();
        if metrics.is_empty() {
            return Err(format!("a SEARCH that names no MetricName: {expression}"));
        }
        if let Some((key, _)) = designators
            .iter()
            .find(|(key, _)| key != "MetricName" && !dimensions.contains(key))
        {
            return Err(format!(
                "a SEARCH designates `{key}`, which its schema does not name: {expression}"
            ));
        }
        for metric in metrics {
            named.push(Named {
                namespace: namespace.clone(),
                metric: metric.clone(),
                dimensions: dimensions
                    .iter()
                    .map(|name| {
                        let value = designators
                            .iter()
                            .find(|(key, _)| key == name)
                            .map(|(_, value)| value.clone());
                        (name.clone(), value)
                    })
                    .collect(),
            })
        }
    }
    Ok(named)
}

/// The `Key="value"` and `Key=value` designators of a search term.
fn designators(term: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = term;
    while let Some(at) = rest.find('=') {
        let key: String = rest[..at]
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let after = &rest[at + 1..];
        let (value, next) = match after.strip_prefix('"') {
            Some(quoted) => quoted.split_once('"').unwrap_or((quoted, "")),
            None => after.split_at(after.find([' ', ')']).unwrap_or(after.len())),
        };
        found.push((key, value.to_string()));
        rest = next;
    }
    found
}

/// Every metric a dashboard body names, widget by widget; `Err` names the widget and what is
/// wrong with it.
fn dashboard_metrics(body: &Value) -> Result<Vec<Named>, String> {
    let mut named = Vec::new();
    for widget in body["widgets"].as_array().ok_or("the body has no `widgets` array")? {
        let title = widget["properties"]["title"].as_str().unwrap_or("(untitled)");
        match widget["type"].as_str() {
            Some("metric") => {}
            Some("text") => continue,
            other => {
                return Err(format!(
                    "{title}: a widget of type {other:?}, which this test does not read"
                ));
            }
        }
        let rows = widget["properties"]["metrics"]
            .as_array()
            .ok_or(format!("{title}: no `metrics` array"))?;
        let mut previous = Vec::new();
        for row in rows {
            named.extend(row_metrics(row, &mut previous).map_err(|why| format!("{title}: {why}"))?);
        }
    }
    Ok(named)
}

/// YAML (CloudFormation's short forms, `!Ref`, `!Sub`, included) or JSON texts as JSON, read by
/// cfn-lint's own reader.
fn as_json(texts: &[String]) -> Vec<Value> {
    const READ: &str = "import json, sys\nfrom cfnlint.decode.cfn_yaml import loads\n\
                        print(json.dumps([loads(text) for text in json.loads(sys.argv[1])]))";
    let texts = serde_json::to_string(texts).expect("JSON of strings");
    let printed = output(Command::new(python()).arg("-c").arg(READ).arg(texts)).expect("read the YAML");
    serde_json::from_str(printed.trim()).expect("JSON")
}

/// The dashboard's body, resolved for `Dashboard=true` as CloudFormation would, and the resources.
fn dashboard() -> (Value, Value) {
    let created = resources(&json!({"Dashboard": "true"}));
    let body = created["PreflightDashboard"]["Properties"]["DashboardBody"]
        .as_str()
        .expect("Dashboard=true creates PreflightDashboard with a DashboardBody string");
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("the DashboardBody is not JSON: {e}\n{body}"));
    (body, created)
}

#[test]
fn the_dashboard_names_only_metrics_the_code_publishes_and_the_template_s_queue() {
    let (body, created) = dashboard();
    let named = dashboard_metrics(&body).unwrap_or_else(|why| panic!("{why}"));
    // The queue the template's own alarm watches, resolved the same way.
    let queue = created["FailedEventsAlarm"]["Properties"]["Dimensions"][0]["Value"].as_str();
    assert_eq!(created["FailedEvents"]["Type"], "AWS::SQS::Queue");
    let mut queues = 0;
    for metric in &named {
        match metric.namespace.as_str() {
            NAMESPACE => {
                if let Err(why) = metric.check() {
                    panic!("the dashboard's {metric}: {why}");
                }
            }
            "AWS/SQS" => {
                assert_eq!(
                    (metric.metric.as_str(), metric.names()),
                    ("ApproximateNumberOfMessagesVisible", vec!["QueueName"]),
                    "{metric}"
                );
                assert_eq!(
                    metric.value("QueueName"),
                    queue,
                    "the dashboard's queue is the FailedEvents queue"
                );
                queues += 1;
            }
            other => panic!("the dashboard names {metric}, of a namespace ({other}) this test does not hold"),
        }
    }
    assert_eq!(queues, 1, "one graph of the FailedEvents queue");
}

#[test]
fn the_dashboard_shows_every_metric_the_code_publishes_but_those_left_off_on_purpose() {
    // `Skipped` is a cause too: "Verdicts by cause" shows Cause = Skipped.
    const LEFT_OFF: &[&str] = &["Skipped"];
    let (body, _) = dashboard();
    let shown: BTreeSet<String> = dashboard_metrics(&body)
        .unwrap_or_else(|why| panic!("{why}"))
        .into_iter()
        .filter(|metric| metric.namespace == NAMESPACE)
        .map(|metric| metric.metric)
        .collect();
    for entry in PUBLISHED.iter().filter(|entry| !LEFT_OFF.contains(&entry.metric)) {
        assert!(
            shown.contains(entry.metric),
            "the dashboard does not show `{}`: add it to a widget, or to LEFT_OFF with the reason",
            entry.metric
        );
    }
    // The verdicts each way the two alarms and the causes table read them.
    let verdicts: BTreeSet<Vec<String>> = dashboard_metrics(&body)
        .unwrap_or_default()
        .into_iter()
        .filter(|metric| metric.metric == "Verdicts")
        .map(|metric| metric.names().into_iter().map(str::to_string).collect())
        .collect();
    for set in [
        &["Flow", "Verdict"][..],
        &["Flow", "HookStatus"],
        &["Flow", "Cause"],
        &["Fault"],
    ] {
        let set: Vec<String> = set.iter().map(|name| name.to_string()).collect();
        assert!(verdicts.contains(&set), "no graph of Verdicts by {set:?}");
    }
}

#[test]
fn the_dashboard_is_made_only_when_asked_in_the_stack_s_region_with_its_url() {
    assert!(
        resources(&json!({})).get("PreflightDashboard").is_none(),
        "no dashboard by default"
    );
    let template = std::fs::read_to_string(workspace_root().join("template.yaml")).expect("template.yaml");
    let template = &as_json(&[template])[0];
    // Unresolved: the region and the queue come from the stack, never written in.
    let sub = template["Resources"]["PreflightDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
        .as_str()
        .expect("the DashboardBody is one !Sub");
    let body: Value = serde_json::from_str(sub).expect("the DashboardBody is JSON before !Sub too");
    for widget in body["widgets"].as_array().into_iter().flatten() {
        if widget["type"] == "metric" {
            assert_eq!(widget["properties"]["region"], "${AWS::Region}", "{widget}");
        }
    }
    assert!(
        sub.contains(r#""QueueName", "${FailedEvents.QueueName}""#),
        "the queue's name comes from the stack: \"QueueName\", \"${{FailedEvents.QueueName}}\""
    );
    let url = &template["Outputs"]["DashboardUrl"];
    assert_eq!(url["Condition"], "DashboardEnabled");
    let url = url["Value"]["Fn::Sub"].as_str().expect("the URL is a !Sub");
    assert!(
        url.contains("region=${AWS::Region}#dashboards:name=${PreflightDashboard}"),
        "{url}"
    );
}

/// The fenced code blocks of a Markdown page: (language, text).
fn code_blocks(page: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in page.lines() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(language)) => open = Some((language.trim().to_string(), String::new())),
            (Some(_), Some(_)) => blocks.extend(open.take()),
            (Some((_, text)), None) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, None) => {}
        }
    }
    blocks
}

/// Every object of `node` that names a metric in a namespace (an alarm's properties, a metric
/// math alarm's `MetricStat.Metric`), as CloudFormation writes them.
fn alarm_metrics(node: &Value, found: &mut Vec<Named>) {
    match node {
        Value::Object(object) => {
            if let (Some(namespace), Some(metric)) = (
                object.get("Namespace").and_then(Value::as_str),
                object.get("MetricName").and_then(Value::as_str),
            ) {
                let dimensions = object
                    .get("Dimensions")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|dimension| {
                        (
                            dimension["Name"].as_str().unwrap_or_default().to_string(),
                            dimension["Value"].as_str().map(str::to_string),
                        )
                    })
                    .collect();
                found.push(Named {
                    namespace: namespace.to_string(),
                    metric: metric.to_string(),
                    dimensions,
                });
            }
            object.values().for_each(|value| alarm_metrics(value, found));
        }
        Value::Array(items) => items.iter().for_each(|item| alarm_metrics(item, found)),
        _ => {}
    }
}

#[test]
fn every_alarm_the_docs_give_watches_a_metric_the_code_publishes() {
    let root = workspace_root();
    let mut pages = vec!["README.md".to_string()];
    let mut docs: Vec<String> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    docs.sort();
    pages.extend(docs);

    // The blocks that name the preflight namespace, however they write it.
    let marks = [
        format!("Namespace: {NAMESPACE}"),
        format!("\"Namespace\": \"{NAMESPACE}\""),
        format!("--namespace {NAMESPACE}"),
    ];
    let mut blocks = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(root.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        for (language, block) in code_blocks(&text) {
            if marks.iter().any(|mark| block.contains(mark.as_str())) {
                assert!(
                    ["yaml", "yml", "json"].contains(&language.as_str()),
                    "{page}: a ```{language} block names the preflight namespace, which this test cannot read:\n{block}"
                );
                blocks.push((page.clone(), block));
            }
        }
    }
    let texts: Vec<String> = blocks.iter().map(|(_, block)| block.clone()).collect();
    let mut watched = Vec::new();
    for ((page, block), parsed) in blocks.iter().zip(as_json(&texts)) {
        let mut found = Vec::new();
        alarm_metrics(&parsed, &mut found);
        found.retain(|metric| metric.namespace == NAMESPACE);
        assert!(
            !found.is_empty(),
            "{page}: no metric read in a block that names the namespace:\n{block}"
        );
        for metric in found {
            if let Err(why) = metric.check() {
                panic!("{page}: the alarm on {metric}: {why}");
            }
            watched.push((page.clone(), metric.metric));
        }
    }
    // The alarms the docs are known to give, so that a reader that finds nothing cannot pass.
    for (page, metric) in [("docs/operations.md", "Verdicts"), ("docs/canary.md", "CanaryFailing")] {
        assert!(
            watched.iter().any(|(on, name)| on == page && name == metric),
            "{page}'s alarm on {metric} was not read: {watched:?}"
        );
    }
}

#[test]
fn the_reader_finds_each_metric_a_row_or_a_search_names() {
    let rows = json!([
        ["preflight", "Verdicts", "Fault", "Release", {"label": "stopped"}],
        [".", ".", ".", "Preflight"],
        [{"id": "e1", "expression": "SUM(SEARCH('{preflight,Flow,Verdict} MetricName=\"Checks\" OR MetricName=\"ChecksFailed\" Flow=\"codedeploy_hook\"', 'Sum', 300))"}],
        [{"id": "e2", "expression": "SUM(METRICS())"}]
    ]);
    let mut previous = Vec::new();
    let named: Vec<Named> = rows
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row_metrics(row, &mut previous).expect("readable"))
        .collect();
    let shown: Vec<String> = named.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            r#"preflight/Verdicts [("Fault", Some("Release"))]"#,
            r#"preflight/Verdicts [("Fault", Some("Preflight"))]"#,
            r#"preflight/Checks [("Flow", Some("codedeploy_hook")), ("Verdict", None)]"#,
            r#"preflight/ChecksFailed [("Flow", Some("codedeploy_hook")), ("Verdict", None)]"#,
        ]
    );
    // The checks that would hold them: a Flow the hooks do not have is refused, and so is a hook's
    // status under the other hook's name for it (ECS's verdicts are by `HookStatus`).
    assert_eq!(named[2].check(), Ok(()));
    let wrong_status =
        &searches("SEARCH('{preflight,Flow,Verdict} MetricName=\"Checks\" Flow=\"ecs_hook\"', 'Sum', 300)")
            .expect("readable")[0];
    assert!(wrong_status.check().is_err(), "{wrong_status}");
    let unknown_flow =
        &searches("SEARCH('{preflight,Flow} MetricName=\"LiveJudgeRuns\" Flow=\"live-judge\"', 'Sum', 60)")
            .expect("readable")[0];
    assert!(unknown_flow.check().is_err(), "{unknown_flow}");
    for refused in [
        "SEARCH('MetricName=\"Verdicts\"', 'Sum', 60)",
        "SEARCH('{preflight,Flow,Verdict} Verdicts', 'Sum', 60)",
        "SEARCH('{preflight,Flow} MetricName=\"Verdicts\" Verdict=\"Failed\"', 'Sum', 60)",
    ] {
        assert!(searches(refused).is_err(), "{refused}");
    }
}
