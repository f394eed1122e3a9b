//! The maintenance page rehearsal (`rehearse --maintenance`): the sample notifications in
//! `events/` go through the real `bootstrap`, which changes the listener of moto's ELBv2; the
//! listener's rules are printed after each one. Opt-in, because it needs Python for moto.

use std::path::Path;
use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::Client as ElbClient;
use serde_json::json;

use stand_in::kit::{elb_client, sample};
use stand_in::{DeploymentSpec, MotoServer, Rig, RuntimeOutcome};

use crate::rehearsed::Rehearsed;

const TIMEOUT: Duration = Duration::from_secs(30);
const EXPECTED: &str = "shown, already_shown, removed";

/// Starts moto and the local CodeDeploy, then sends: the captured SNS start, the same start
/// again (a redelivery), and the documented SNS end once the deployment has succeeded.
pub async fn rehearse_maintenance(bootstrap: &Path) -> std::io::Result<Rehearsed> {
    let moto = MotoServer::start().await?;
    let alb = moto.create_alb().await?;
    let listeners = json!({"shop": {"shop-web": alb.listener}}).to_string();
    let Rig { aws, hook } = Rig::start(
        bootstrap,
        &[
            ("AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2", &moto.endpoint_url()),
            ("MAINTENANCE_LISTENERS", &listeners),
        ],
    )
    .await?;
    let elb = elb_client(&moto.endpoint_url()).await;
    let deployment = aws.create_deployment_with_ids(DeploymentSpec::server("shop", "shop-web"), "d-SAMPLE0002", "-");

    let mut lines = vec![
        format!("load balancer: moto_server at {} (ELBv2)", moto.endpoint_url()),
        "CodeDeploy: deployment d-SAMPLE0002 of shop/shop-web (EC2/Auto Scaling) starts".into(),
    ];
    let mut actions = Vec::new();
    let steps = [
        (
            "SNS trigger: CREATED (events/sns-start-captured.json)",
            "sns-start-captured.json",
            None,
        ),
        ("SNS redelivers the same message", "sns-start-captured.json", None),
        (
            "deployment succeeded; SNS trigger: Succeeded (events/sns-end-documented.json)",
            "sns-end-documented.json",
            Some("Succeeded"),
        ),
    ];
    for (title, file, status) in steps {
        if let Some(status) = status {
            aws.set_status(&deployment, status);
        }
        lines.push(title.to_string());
        let outcome = aws.deliver_payload(sample(file)?, TIMEOUT).await.outcome;
        let action = match &outcome {
            RuntimeOutcome::Response(value) => {
                let done = &value["maintenance"][0];
                lines.push(format!(
                    "  preflight: {} ({})",
                    done["action"].as_str().unwrap_or_default(),
                    done["reason"].as_str().unwrap_or_default()
                ));
                done["action"].as_str().unwrap_or_default().to_string()
            }
            other => {
                lines.push(format!("  preflight failed: {other:?}"));
                "failed".to_string()
            }
        };
        actions.push(action);
        lines.extend(describe_listener(&elb, &alb.listener).await);
    }
    let reported = actions.join(", ");
    Ok(Rehearsed {
        title: "maintenance page while an EC2 deployment runs".into(),
        lines,
        expected: EXPECTED,
        reported: Some(reported),
        logs: hook.lines(),
    })
}

/// `  listener: priority 1 /* → fixed 503 text/html | default → forward`
async fn describe_listener(elb: &ElbClient, listener: &str) -> Vec<String> {
    let rules = match elb.describe_rules().listener_arn(listener).send().await {
        Ok(output) => output.rules().to_vec(),
        Err(error) => return vec![format!("  listener: DescribeRules failed: {error}")],
    };
    let described: Vec<String> = rules
        .iter()
        .map(|rule| {
            let action = rule.actions().first();
            let what = match action.and_then(|a| a.fixed_response_config()) {
                Some(fixed) => format!(
                    "fixed {} {}",
                    fixed.status_code().unwrap_or_default(),
                    fixed.content_type().unwrap_or_default()
                ),
                None => action
                    .and_then(|a| a.r#type())
                    .map_or("?".to_string(), |t| t.as_str().to_string()),
            };
            if rule.is_default() == Some(true) {
                format!("default → {what}")
            } else {
                let paths: Vec<&str> = rule
                    .conditions()
                    .iter()
                    .flat_map(|c| c.path_pattern_config().map(|p| p.values()).unwrap_or_default())
                    .map(String::as_str)
                    .collect();
                format!(
                    "priority {} {} → {what}",
                    rule.priority().unwrap_or_default(),
                    paths.join(",")
                )
            }
        })
        .collect();
    vec![format!("  listener rules: {}", described.join(" | "))]
}
