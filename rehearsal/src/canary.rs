//! The rehearsal's Lambda canaries: a release through CodeDeploy's `Canary10Percent10Minutes`
//! with the hook at both of its events. At `BeforeAllowTraffic` preflight checks the new version;
//! then the alias sends a tenth of the production traffic to it for ten minutes (simulated: the
//! stand-in really invokes the versions, but stamps their metrics into ten minutes of the past, so
//! nothing waits); at `AfterAllowTraffic` preflight judges the new version on that traffic against
//! the old one's, read back from CloudWatch. A new version that fails one invocation in six passes
//! its check (its first answer is a 200) and is rolled back by the judge; a healthy one goes on.

use std::path::Path;
use std::time::Duration;

use stand_in::kit::lambda_appspec;
use stand_in::{DeploymentSpec, FunctionVersion, Lifecycle, Reply, Rig};

use crate::rehearsed::{Rehearsed, clock, no_report, run_hook};
use stand_in::kit::minutes_ago;

/// `my-api` checked before traffic moves and judged on its real traffic after, with every
/// default of the judge.
const CHECKED_AND_JUDGED: &str = "targets:
  - function: my-api
    checks:
      - path: /healthcheck
    canary: {}
";

/// The new version's share of the alias's invocations while the canary runs.
const CANARY_WEIGHT: f64 = 0.1;
/// The production invocations of the canary's ten minutes.
const PRODUCTION_REQUESTS: u32 = 3000;
/// The new version fails every Nth invocation.
const FAILS_EVERY: u32 = 6;

/// A canary release of `my-api` from version `from` to `to`, the new version failing one
/// invocation in six unless `healthy`.
pub async fn lambda_canary(bootstrap: &Path, healthy: bool) -> std::io::Result<Rehearsed> {
    let (from, to) = if healthy { (1, 2) } else { (2, 3) };
    let (old, new) = (from.to_string(), to.to_string());
    let Rig { aws, hook } = Rig::start(bootstrap, &[("PREFLIGHT_CHECKS", CHECKED_AND_JUDGED)]).await?;
    let version = |delay_ms: u64, behaviour: FunctionVersion| FunctionVersion {
        delay: Duration::from_millis(delay_ms),
        ..behaviour
    };
    let answers = Reply::Status(200);
    aws.add_function("my-api", &old, version(40, FunctionVersion::replying(answers.clone())));
    let behaviour = if healthy {
        FunctionVersion::replying(answers)
    } else {
        FunctionVersion::failing_every(FAILS_EVERY, answers)
    };
    aws.add_function("my-api", &new, version(45, behaviour));
    aws.add_alias("my-api", "live", &old, None);
    let appspec = lambda_appspec(&[("my-api", &old, &new)]) + "  - AfterAllowTraffic: CodeDeployHook_preflight\n";
    let deployment = aws.create_deployment(DeploymentSpec::lambda(appspec));

    let mut lines = vec![
        format!(
            "CodeDeploy: deployment {} of my-app/my-app-live (Lambda, Canary10Percent10Minutes): my-api alias \
             live, version {from} → {to}; hooks BeforeAllowTraffic and AfterAllowTraffic",
            deployment.id
        ),
        "  PREFLIGHT_CHECKS: my-api GET /healthcheck must answer 200-399; canary: {} (judged on its real \
         traffic after the shift)"
            .to_string(),
    ];
    if !healthy {
        lines.push(format!(
            "  (version {to} fails every {FAILS_EVERY}th invocation: its first answer, the check's, is a 200)"
        ));
    }
    run_hook(&aws, &hook, &deployment, "BeforeAllowTraffic", 1, &mut lines).await;
    let before = aws.accepted_status(&deployment);
    if before.as_deref() != Some("Succeeded") {
        lines.push(format!(
            "CodeDeploy: deployment failed before any traffic moved, alias live stays on version {from}"
        ));
        return Ok(rehearsed(healthy, lines, before, hook.lines()));
    }

    // AllowTraffic: ten minutes at 10%, then all of it. Ended five minutes ago, so that CloudWatch's
    // points (which settle three minutes after each minute) can all be read.
    let (start, end) = (minutes_ago(15), minutes_ago(5));
    aws.set_alias_routing("my-api", "live", &old, Some((&new, CANARY_WEIGHT)));
    let served = aws
        .simulate_alias_traffic("my-api", "live", PRODUCTION_REQUESTS, start, end)
        .await;
    aws.set_alias_routing("my-api", "live", &new, None);
    let (on_new, on_old) = (served.version(&new), served.version(&old));
    lines.push(format!(
        "CodeDeploy: AllowTraffic: alias live sends 10% to version {to} from {} to {} UTC, then all of it",
        clock(start),
        clock(end)
    ));
    lines.push(format!(
        "  production: {PRODUCTION_REQUESTS} invocations (simulated into those minutes): version {to} ran {} \
         ({} function errors), version {from} ran {} ({} function errors)",
        on_new.invocations, on_new.errors, on_old.invocations, on_old.errors
    ));

    // The same deployment's next hook execution, which CodeDeploy starts under an id of its own.
    let after_traffic = aws.next_hook_execution(&deployment, Lifecycle::after_allow_traffic(start, end));
    let delivered = run_hook(&aws, &hook, &after_traffic, "AfterAllowTraffic", 2, &mut lines).await;
    let after = aws.accepted_status(&after_traffic);
    lines.push(match after.as_deref() {
        Some("Succeeded") => format!("CodeDeploy: deployment succeeded, alias live stays on version {to}"),
        Some(_) => {
            aws.set_alias_routing("my-api", "live", &old, None);
            format!("CodeDeploy: deployment failed, rolled back, alias live → version {from}")
        }
        None => no_report(&delivered),
    });
    let reported = after.map(|after| format!("Succeeded, then {after}"));
    Ok(rehearsed(healthy, lines, reported, hook.lines()))
}

fn rehearsed(healthy: bool, lines: Vec<String>, reported: Option<String>, logs: Vec<String>) -> Rehearsed {
    Rehearsed {
        title: if healthy {
            "healthy Lambda canary, passed on its real traffic at AfterAllowTraffic".into()
        } else {
            "Lambda canary failing 1 request in 6: passes its check, rolled back on its real traffic".into()
        },
        lines,
        expected: if healthy {
            "Succeeded, then Succeeded"
        } else {
            "Succeeded, then Failed"
        },
        reported,
        logs,
    }
}
