//! What one rehearsed deployment tells: its title, the console lines, what it expected and what
//! the hook answered, and the hook's own log lines; and the lines a hook's summary line gives the
//! story. Shared by every kind of scenario.

use serde_json::Value;

/// One rehearsed deployment.
pub struct Rehearsed {
    pub title: String,
    pub lines: Vec<String>,
    pub expected: &'static str,
    pub reported: Option<String>,
    /// The hook's own log lines, JSON.
    pub logs: Vec<String>,
}

impl Rehearsed {
    pub fn as_expected(&self) -> bool {
        self.reported.as_deref() == Some(self.expected)
    }
}

/// The story lines of one summary line: which entries chose the checks (when an entry did), each
/// check, each target judged on its real traffic (with both versions' evidence), and the verdict, `preflight {verb} STATUS after N ms: REASON`, STATUS read from
/// `status_field` (`status` for CodeDeploy's hook, `hook_status` for ECS's).
pub fn summary_story(summary: &Value, status_field: &str, verb: &str) -> Vec<String> {
    let field = |name: &str| {
        summary
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let mut lines = Vec::new();
    let targets = field("targets");
    if targets.contains("targets[") {
        lines.push(format!("  preflight chose the checks of {targets}"));
    }
    for check in field("checks").split(" | ").filter(|check| !check.is_empty()) {
        lines.push(format!("  preflight checked {check}"));
    }
    lines.extend(judged_story(&field("judged")));
    lines.push(format!(
        "  preflight {verb} {} after {} ms: {}",
        field(status_field),
        summary.get("elapsed_ms").and_then(Value::as_u64).unwrap_or_default(),
        field("reason")
    ));
    lines
}

/// The lines of a summary line's `judged` field (its judgements, as JSON in a string): each
/// target's ruling, then the new version's traffic and the old one's.
fn judged_story(judged: &str) -> Vec<String> {
    let judgements: Vec<Value> = serde_json::from_str(judged).unwrap_or_default();
    let mut lines = Vec::new();
    for judgement in &judgements {
        let text = |value: &Value| value.as_str().unwrap_or_default().to_string();
        lines.push(format!(
            "  preflight judged {} on its real traffic: {}",
            text(&judgement["target"]),
            text(&judgement["ruling"])
        ));
        for (role, side) in [("new", &judgement["new"]), ("old", &judgement["old"])] {
            let p99 = side["p99_ms"]
                .as_f64()
                .map_or("no p99".to_string(), |p99| format!("p99 {p99} ms"));
            lines.push(format!(
                "    {role}: {}, {} requests, {} errors ({:.1}%), {p99}, over {}",
                text(&side["name"]),
                side["requests"].as_u64().unwrap_or_default(),
                side["errors"].as_u64().unwrap_or_default(),
                side["error_rate"].as_f64().unwrap_or_default() * 100.0,
                text(&side["window"]).replace('/', " to ")
            ));
        }
    }
    lines
}
