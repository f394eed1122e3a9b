//! What one rehearsed deployment tells: its title, the console lines, what it expected and what
//! the hook answered, and the hook's own log lines; the lines a hook's summary line gives the
//! story; and a CodeDeploy hook call added to a story. Shared by every kind of scenario.

use std::time::{Duration, SystemTime};

use serde_json::Value;
use stand_in::{Delivered, Deployment, HookProcess, LocalAws, RuntimeOutcome};

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

/// How long a rehearsed hook may take: its Lambda timeout.
const HOOK_TIMEOUT: Duration = Duration::from_secs(30);

/// One rehearsed deployment's story: its title, what it expects, the console lines before the
/// hook runs, and what CodeDeploy does after each report.
pub(crate) struct Story {
    pub title: String,
    pub expected: &'static str,
    pub hook_name: &'static str,
    pub lines: Vec<String>,
    pub succeeded: String,
    pub failed: String,
}

/// Runs the hook for `deployment`, and ends the story with what CodeDeploy did after its report.
pub(crate) async fn finish(aws: &LocalAws, hook: &HookProcess, deployment: &Deployment, story: Story) -> Rehearsed {
    let mut lines = story.lines;
    let delivered = run_hook(aws, hook, deployment, story.hook_name, 1, &mut lines).await;
    let reported = aws.accepted_status(deployment);
    lines.push(match reported.as_deref() {
        Some("Succeeded") => story.succeeded,
        Some(_) => story.failed,
        None => no_report(&delivered),
    });
    Rehearsed {
        title: story.title,
        lines,
        expected: story.expected,
        reported,
        logs: hook.lines(),
    }
}

/// Delivers the hook event, the hook process's `nth` (from 1), and adds what the hook said and
/// reported to the story.
pub(crate) async fn run_hook(
    aws: &LocalAws,
    hook: &HookProcess,
    deployment: &Deployment,
    hook_name: &str,
    nth: usize,
    lines: &mut Vec<String>,
) -> Delivered {
    lines.push(format!("CodeDeploy: {hook_name} hook → CodeDeployHook_preflight"));
    let delivered = aws.deliver(deployment, HOOK_TIMEOUT).await;
    if let Some(summary) = hook.wait_for_summaries(nth).await.get(nth - 1) {
        lines.extend(summary_story(summary, "status", "reported"));
    }
    delivered
}

pub(crate) fn no_report(delivered: &Delivered) -> String {
    match &delivered.outcome {
        RuntimeOutcome::Error(error) => format!("CodeDeploy: no report; the hook failed with {error}"),
        _ => "CodeDeploy: no report; the deployment would wait an hour, then fail".to_string(),
    }
}

pub(crate) fn seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// `14:05`, UTC.
pub(crate) fn clock(time: SystemTime) -> String {
    let of_day = seconds(time) % 86_400;
    format!("{:02}:{:02}", of_day / 3600, of_day % 3600 / 60)
}
