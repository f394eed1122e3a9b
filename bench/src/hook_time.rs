//! Hook time against work: K checks whose targets each answer after L ms, timed from event
//! delivery to the report, with every CodeDeploy call taking D ms. The floor is the slowest
//! check plus one report round trip: ceil(K / C) × L + D for HTTP checks, which run alongside the
//! lookup, and 2D + ceil(K / C) × L + D for Lambda checks, which need it first.

use std::time::Duration;

use crate::measure::median;
use stand_in::kit::{ECS_APPSPEC, lambda_appspec};
use stand_in::{Answer, DeploymentSpec, Fault, FunctionVersion, HookProcess, HttpTarget, LocalAws, Operation, Reply};

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
    /// What each CodeDeploy call takes (GetDeployment, GetApplicationRevision, the report).
    pub aws_latency: Duration,
    pub median: Duration,
    pub reps: usize,
}

impl WorkFigure {
    /// The best the hook can do: ceil(K / C) × L for the checks, then one report round trip;
    /// Lambda checks also wait for the lookup (two CodeDeploy calls) that tells them what to
    /// invoke, while HTTP checks run alongside it.
    pub fn bound(&self) -> Duration {
        let checks = self.latency * self.checks.div_ceil(self.concurrency) as u32;
        let lookup = self.aws_latency * 2;
        let before_report = match self.kind {
            Kind::Lambda => lookup + checks,
            Kind::Http => checks.max(lookup),
        };
        before_report + self.aws_latency
    }

    pub fn ratio_to_latency(&self) -> f64 {
        self.median.as_secs_f64() / self.latency.as_secs_f64()
    }

    pub fn ratio_to_bound(&self) -> f64 {
        self.median.as_secs_f64() / self.bound().as_secs_f64()
    }
}

/// Times `reps` deployments of `checks` checks on one warm hook process, each CodeDeploy call
/// taking `aws_latency` as a real region's would.
pub async fn measure(
    bootstrap: &std::path::Path,
    kind: Kind,
    checks: usize,
    concurrency: usize,
    latency: Duration,
    aws_latency: Duration,
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
        for operation in [
            Operation::GetDeployment,
            Operation::GetApplicationRevision,
            Operation::PutLifecycleEventHookExecutionStatus,
        ] {
            aws.inject(operation, Fault::Latency(aws_latency), 1);
        }
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
        aws_latency,
        median: median(&mut times).unwrap_or_default(),
        reps,
    })
}
