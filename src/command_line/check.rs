//! `preflight check`: runs the hook's checks once, here, and says what the hook would report.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{EXIT_FAILED, EXIT_SUCCEEDED};
use crate::checks::config::Config;
use crate::checks::describe::{describe_checks, describe_selections};
use crate::checks::probe::Probe;
use crate::checks::runner::run_with_probe;
use crate::checks::verdict::{Status, Verdict};
use crate::checks::{CheckResult, Plan, Selection};
use crate::plumbing::aws::AwsClients;

/// The longest a check run may take: Lambda's own limit, the most a hook could have.
const LONGEST_RUN: Duration = Duration::from_secs(900);

/// What one run found.
pub struct Checked {
    pub selections: Vec<Selection>,
    pub results: Vec<CheckResult>,
    pub verdict: Verdict,
}

impl Checked {
    /// The lines the command prints: where each target's checks came from, one line per check in
    /// the summary line's words, and the verdict the hook would report.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let targets = describe_selections(&self.selections);
        if !targets.is_empty() {
            lines.push(format!("targets: {targets}"));
        }
        for result in &self.results {
            lines.push(format!("check {}", describe_checks(std::slice::from_ref(result))));
        }
        lines.push(format!("{}: {}", self.verdict.status, self.verdict.reason));
        lines
    }

    /// 0 when the hook would report `Succeeded`, 1 when `Failed`.
    pub fn exit_code(&self) -> u8 {
        match self.verdict.status {
            Status::Succeeded => EXIT_SUCCEEDED,
            Status::Failed => EXIT_FAILED,
        }
    }
}

/// Runs `plan` with the hook's probe and runner; `clients` are the caller's usual AWS clients
/// (credentials, region, `AWS_ENDPOINT_URL`).
pub async fn check(config: &Config, plan: Plan, clients: &AwsClients) -> Result<Checked, String> {
    let probe = Arc::new(Probe::new(config, clients.lambda().await.clone())?);
    let Plan { checks, selections } = plan;
    let results = run_with_probe(probe, checks, config.concurrency, Instant::now() + LONGEST_RUN).await;
    Ok(Checked {
        verdict: Verdict::from_results(&results, Selection::skipped_in(&selections)),
        selections,
        results,
    })
}
