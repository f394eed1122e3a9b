//! The rehearsal's built-in deployments: a healthy Lambda release, a broken one, and an ECS
//! release checked through its test listener. Each runs the real hook with its default settings
//! and tells the story a user would see in the CodeDeploy console.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::http_target::{Answer, HttpTarget};
use crate::kit::{ECS_APPSPEC, lambda_appspec};
use crate::local_aws::{Delivered, Deployment, DeploymentSpec, FunctionVersion, LocalAws, Reply, RuntimeOutcome};
use crate::{HookProcess, Rig};

/// The hook's Lambda timeout in the rehearsal, as a template would set it.
const HOOK_TIMEOUT: Duration = Duration::from_secs(30);

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

/// Runs every built-in scenario against `bootstrap`.
pub async fn rehearse_all(bootstrap: &Path) -> std::io::Result<Vec<Rehearsed>> {
    Ok(vec![
        lambda_release(
            bootstrap,
            "healthy Lambda release",
            1,
            2,
            Reply::Status(200),
            "Succeeded",
        )
        .await?,
        lambda_release(
            bootstrap,
            "broken Lambda release (the new version answers 500)",
            2,
            3,
            Reply::Status(500),
            "Failed",
        )
        .await?,
        ecs_release(bootstrap).await?,
    ])
}

async fn lambda_release(
    bootstrap: &Path,
    title: &str,
    from: u32,
    to: u32,
    reply: Reply,
    expected: &'static str,
) -> std::io::Result<Rehearsed> {
    let Rig { aws, hook } = Rig::start(bootstrap, &[]).await?;
    aws.add_function(
        "my-api",
        &from.to_string(),
        FunctionVersion::replying(Reply::Status(200)),
    );
    aws.add_function("my-api", &to.to_string(), FunctionVersion::replying(reply));
    let versions = (from.to_string(), to.to_string());
    let deployment = aws.create_deployment(DeploymentSpec::lambda(lambda_appspec(&[(
        "my-api",
        &versions.0,
        &versions.1,
    )])));
    let mut lines = vec![format!(
        "CodeDeploy: deployment {} of my-app/my-app-live (Lambda): my-api alias live, version {from} → {to}",
        deployment.id
    )];
    let delivered = run_hook(&aws, &hook, &deployment, "BeforeAllowTraffic", &mut lines).await;
    let reported = aws.accepted_status(&deployment);
    lines.push(match reported.as_deref() {
        Some("Succeeded") => format!("CodeDeploy: traffic shifted, alias live → version {to}"),
        Some(_) => format!("CodeDeploy: deployment failed, rolled back, alias live stays on version {from}"),
        None => no_report(&delivered),
    });
    Ok(Rehearsed {
        title: title.to_string(),
        lines,
        expected,
        reported,
        logs: hook.lines(),
    })
}

async fn ecs_release(bootstrap: &Path) -> std::io::Result<Rehearsed> {
    let listener = HttpTarget::start(&[("/healthcheck", Answer::Status(200))]).await?;
    let alb_url = listener.host_port();
    let Rig { aws, hook } = Rig::start(bootstrap, &[("ALB_URL", &alb_url)]).await?;
    let deployment = aws.create_deployment(DeploymentSpec::ecs(ECS_APPSPEC));
    let mut lines = vec![
        format!(
            "CodeDeploy: deployment {} of my-app/my-app-live (ECS): checkout task definition :8, replacement task set up",
            deployment.id
        ),
        format!("CodeDeploy: test listener routes to the replacement tasks (ALB_URL={alb_url})"),
    ];
    let delivered = run_hook(&aws, &hook, &deployment, "AfterAllowTestTraffic", &mut lines).await;
    let reported = aws.accepted_status(&deployment);
    lines.push(match reported.as_deref() {
        Some("Succeeded") => "CodeDeploy: production traffic moves to the replacement task set".to_string(),
        Some(_) => "CodeDeploy: deployment failed, rolled back to the original task set".to_string(),
        None => no_report(&delivered),
    });
    Ok(Rehearsed {
        title: "ECS release checked through the test listener".into(),
        lines,
        expected: "Succeeded",
        reported,
        logs: hook.lines(),
    })
}

/// Delivers the hook event and adds what the hook said and reported to the story.
async fn run_hook(
    aws: &LocalAws,
    hook: &HookProcess,
    deployment: &Deployment,
    hook_name: &str,
    lines: &mut Vec<String>,
) -> Delivered {
    lines.push(format!("CodeDeploy: {hook_name} hook → CodeDeployHook_preflight"));
    let delivered = aws.deliver(deployment, HOOK_TIMEOUT).await;
    if let Some(summary) = hook.wait_for_summaries(1).await.last() {
        let field = |name: &str| {
            summary
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        for check in field("checks").split(" | ").filter(|c| !c.is_empty()) {
            lines.push(format!("  preflight checked {check}"));
        }
        lines.push(format!(
            "  preflight reported {} after {} ms: {}",
            field("status"),
            summary.get("elapsed_ms").and_then(Value::as_u64).unwrap_or_default(),
            field("reason")
        ));
    }
    delivered
}

fn no_report(delivered: &Delivered) -> String {
    match &delivered.outcome {
        RuntimeOutcome::Error(error) => format!("CodeDeploy: no report; the hook failed with {error}"),
        _ => "CodeDeploy: no report; the deployment would wait an hour, then fail".to_string(),
    }
}
