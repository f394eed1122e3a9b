//! Start-up figures for any Runtime API program (preflight's `bootstrap`, a floor, a peer): time
//! from process start to its first Runtime API poll, to its first answered invocation (a healthy
//! hook execution), and peak memory (VmHWM) after it.

use std::time::{Duration, Instant};

use stand_in::kit::lambda_appspec;
use stand_in::{DeploymentSpec, FunctionVersion, HookProcess, LocalAws, Program, Reply, RuntimeOutcome};

/// One run's figures.
#[derive(Debug, Clone, Copy)]
pub struct StartFigures {
    pub to_first_poll: Duration,
    /// From process start to the answer of the first invocation (the cold hook execution).
    pub to_first_answer: Duration,
    pub peak_rss_kib: Option<u64>,
    /// Whether the hook reported `Succeeded` (a floor that only echoes reports nothing).
    pub reported_succeeded: bool,
}

/// Starts the program, waits for its first poll, runs one healthy hook execution, reads its
/// peak RSS.
pub async fn measure_program(program: &Program) -> std::io::Result<StartFigures> {
    let aws = LocalAws::start().await?;
    aws.add_function("my-api", "2", FunctionVersion::replying(Reply::Status(200)));
    let spawned = Instant::now();
    let hook = HookProcess::launch_program(program, &aws, &[])?;
    // Up to 10 s: an interpreter with heavy imports takes far longer than a native binary. The
    // stand-in stamps the poll when it arrives; the wait only wakes on it.
    let Some(first_poll) = aws.wait_for_first_poll(Duration::from_secs(10)).await else {
        let why = match aws.init_errors().first() {
            Some(error) => format!("the program failed to start: {error}"),
            None => format!(
                "the program never polled the Runtime API; it said: {:?}",
                hook.lines().last()
            ),
        };
        return Err(std::io::Error::other(why));
    };
    let deployment = aws.create_deployment(DeploymentSpec::lambda(lambda_appspec(&[("my-api", "1", "2")])));
    let delivered = aws.deliver(&deployment, Duration::from_secs(10)).await;
    let answered = Instant::now();
    if delivered.outcome == RuntimeOutcome::TimedOut {
        return Err(std::io::Error::other("the first invocation was never answered"));
    }
    let peak_rss_kib = hook.id().and_then(peak_rss_kib);
    Ok(StartFigures {
        to_first_poll: first_poll.saturating_duration_since(spawned),
        to_first_answer: answered.saturating_duration_since(spawned),
        peak_rss_kib,
        reported_succeeded: aws.accepted_status(&deployment).as_deref() == Some("Succeeded"),
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
