//! Hook time against work: K checks whose targets each answer after L ms, timed from event
//! delivery to the report, against the floor L. With bounded concurrency C the floor for K
//! checks is ceil(K / C) × L.

use std::time::Duration;

use crate::measure::median;
use rehearsal::kit::{ECS_APPSPEC, lambda_appspec};
use rehearsal::{Answer, DeploymentSpec, FunctionVersion, HookProcess, HttpTarget, LocalAws, Reply};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Lambda,
    Http,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Lambda => "lambda",
            Kind::Http => "http",
        }
    }
}

pub struct WorkFigure {
    pub kind: Kind,
    pub checks: usize,
    pub concurrency: usize,
    pub latency: Duration,
    pub median: Duration,
    pub reps: usize,
}

impl WorkFigure {
    /// ceil(K / C) × L: what bounded concurrency allows at best.
    pub fn bound(&self) -> Duration {
        self.latency * self.checks.div_ceil(self.concurrency) as u32
    }

    pub fn ratio_to_latency(&self) -> f64 {
        self.median.as_secs_f64() / self.latency.as_secs_f64()
    }

    pub fn ratio_to_bound(&self) -> f64 {
        self.median.as_secs_f64() / self.bound().as_secs_f64()
    }
}

/// Times `reps` deployments of `checks` checks on one warm hook process.
pub async fn measure(
    bootstrap: &std::path::Path,
    kind: Kind,
    checks: usize,
    concurrency: usize,
    latency: Duration,
    reps: usize,
) -> Result<WorkFigure, String> {
    let aws = LocalAws::start().await.map_err(|e| e.to_string())?;
    let paths: Vec<String> = (0..checks).map(|n| format!("/check/{n}")).collect();
    let paths = paths.join(",");
    let concurrency_text = concurrency.to_string();
    let target = HttpTarget::start_with_fallback(&[], Some(Answer::Slow(latency, 200)))
        .await
        .map_err(|e| e.to_string())?;
    let alb = target.host_port();
    let mut config = vec![
        ("CHECK_PATHS", paths.as_str()),
        ("CHECK_CONCURRENCY", concurrency_text.as_str()),
        ("CHECK_ATTEMPTS", "1"),
    ];
    let spec = match kind {
        Kind::Lambda => {
            let behaviour = FunctionVersion {
                delay: latency,
                ..FunctionVersion::replying(Reply::Status(200))
            };
            aws.add_function("my-api", "2", behaviour);
            DeploymentSpec::lambda(lambda_appspec(&[("my-api", "1", "2")]))
        }
        Kind::Http => {
            config.push(("ALB_URL", alb.as_str()));
            DeploymentSpec::ecs(ECS_APPSPEC)
        }
    };
    let hook = HookProcess::launch(bootstrap, &aws, &config).map_err(|e| e.to_string())?;
    let mut times = Vec::with_capacity(reps);
    // One warm-up execution: the figure is the steady-state hook, cold start is measured apart.
    for rep in 0..=reps {
        let deployment = aws.create_deployment(spec.clone());
        let delivered = aws.deliver(&deployment, Duration::from_secs(120)).await;
        let report = aws
            .reports()
            .into_iter()
            .find(|r| r.execution_id == deployment.execution_id && r.accepted);
        let Some(report) = report else {
            return Err(format!(
                "{} checks of {}: no report; hook said {:?}",
                checks,
                kind.name(),
                hook.lines().last()
            ));
        };
        if report.status != "Succeeded" {
            return Err(format!(
                "{} checks of {}: reported {}",
                checks,
                kind.name(),
                report.status
            ));
        }
        if rep > 0 {
            times.push(report.at.saturating_duration_since(delivered.started));
        }
    }
    Ok(WorkFigure {
        kind,
        checks,
        concurrency,
        latency,
        median: median(&mut times).unwrap_or_default(),
        reps,
    })
}
