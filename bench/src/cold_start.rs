//! Cold start, side by side: preflight, the bare `lambda_runtime` floor, and the Python peer, each
//! started many times against the same local Runtime API. Runs are interleaved so that a noisy
//! moment on the machine hurts all three alike.

use std::time::Duration;

use stand_in::Program;

use crate::measure::{StartFigures, measure_program, median};

use crate::setup::Contenders;

pub struct ColdStart {
    pub name: &'static str,
    pub first_poll: Duration,
    pub first_answer: Duration,
    pub peak_rss_kib: u64,
    pub runs: usize,
    pub reported_succeeded: bool,
}

pub async fn run(contenders: &Contenders, runs: usize) -> Result<Vec<ColdStart>, String> {
    let programs = [
        ("preflight", Program::binary(&contenders.preflight)),
        ("lambda_runtime floor", Program::binary(&contenders.floor)),
        ("python + boto3", contenders.python.clone()),
    ];
    let mut figures: Vec<Vec<StartFigures>> = vec![Vec::new(); programs.len()];
    for _ in 0..runs {
        for (n, (name, program)) in programs.iter().enumerate() {
            let figure = measure_program(program).await.map_err(|e| format!("{name}: {e}"))?;
            figures[n].push(figure);
        }
    }
    Ok(programs
        .iter()
        .zip(figures)
        .map(|((name, _), runs)| summarise(name, &runs))
        .collect())
}

fn summarise(name: &'static str, runs: &[StartFigures]) -> ColdStart {
    let median_of = |mut values: Vec<Duration>| median(&mut values).unwrap_or_default();
    let mut peaks: Vec<u64> = runs.iter().filter_map(|r| r.peak_rss_kib).collect();
    ColdStart {
        name,
        first_poll: median_of(runs.iter().map(|r| r.to_first_poll).collect()),
        first_answer: median_of(runs.iter().map(|r| r.to_first_answer).collect()),
        peak_rss_kib: median(&mut peaks).unwrap_or_default(),
        runs: runs.len(),
        reported_succeeded: runs.iter().all(|r| r.reported_succeeded),
    }
}
