//! Start-up figures for the real `bootstrap`: time from process start to its first Runtime API
//! poll, and peak memory (VmHWM) after one healthy hook execution. Medians of several runs.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::HookProcess;
use crate::local_aws::{DeploymentSpec, FunctionVersion, LocalAws, Reply};

/// One run's figures.
#[derive(Debug, Clone, Copy)]
pub struct StartFigures {
    pub to_first_poll: Duration,
    pub peak_rss_kib: Option<u64>,
}

const APPSPEC: &str = "Resources:\n  - f:\n      Type: AWS::Lambda::Function\n      Properties: {Name: my-api, Alias: live, CurrentVersion: 1, TargetVersion: 2}\n";

/// Starts the hook, waits for its first poll, runs one healthy execution, reads its peak RSS.
pub async fn measure_once(bootstrap: &Path) -> std::io::Result<StartFigures> {
    let aws = LocalAws::start().await?;
    aws.add_function("my-api", "2", FunctionVersion::replying(Reply::Status(200)));
    let spawned = Instant::now();
    let hook = HookProcess::launch(bootstrap, &aws, &[])?;
    let mut first_poll = None;
    for _ in 0..5_000 {
        first_poll = aws.first_poll();
        if first_poll.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    let Some(first_poll) = first_poll else {
        return Err(std::io::Error::other("the hook never polled the Runtime API"));
    };
    let deployment = aws.create_deployment(DeploymentSpec::lambda(APPSPEC));
    aws.deliver(&deployment, Duration::from_secs(10)).await;
    let peak_rss_kib = hook.id().and_then(peak_rss_kib);
    Ok(StartFigures {
        to_first_poll: first_poll.saturating_duration_since(spawned),
        peak_rss_kib,
    })
}

/// VmHWM from /proc (Linux only).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub fn median<T: Copy + Ord>(values: &mut [T]) -> Option<T> {
    values.sort_unstable();
    values.get(values.len() / 2).copied()
}
