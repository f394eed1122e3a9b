//! The ground pieces every rehearsal, test and benchmark builds with: where the workspace and its
//! release builds are, the sample events, AppSpecs, and an ELBv2 client for a local endpoint.

use std::path::{Path, PathBuf};

use aws_sdk_elasticloadbalancingv2::Client as ElbClient;
use serde_json::Value;

/// The workspace root (this crate is one level down).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `target/release/`, where release builds of this workspace's binaries are, found from the
/// running tool's own place (`target/<profile>/`), so that `CARGO_TARGET_DIR` is honoured.
pub fn release_dir() -> Result<PathBuf, String> {
    let here = std::env::current_exe().map_err(|error| format!("cannot find this binary: {error}"))?;
    let target = here
        .parent()
        .and_then(Path::parent)
        .ok_or("this binary is not in a cargo target folder")?;
    Ok(target.join("release"))
}

/// A sample event from `events/`, parsed.
pub fn sample(name: &str) -> std::io::Result<Value> {
    let path = workspace_root().join("events").join(name);
    let text = std::fs::read_to_string(&path)
        .map_err(|error| std::io::Error::other(format!("{}: {error}", path.display())))?;
    serde_json::from_str(&text).map_err(|error| std::io::Error::other(format!("{}: {error}", path.display())))
}

/// A Lambda AppSpec with each `(function, current version, target version)`, alias `live`.
pub fn lambda_appspec(functions: &[(&str, &str, &str)]) -> String {
    let mut text = String::from("version: 0.0\nResources:\n");
    for (name, from, to) in functions {
        text.push_str(&format!(
            "  - {name}Function:\n      Type: AWS::Lambda::Function\n      Properties:\n        Name: {name}\n        \
             Alias: live\n        CurrentVersion: \"{from}\"\n        TargetVersion: \"{to}\"\n"
        ));
    }
    text.push_str("Hooks:\n  - BeforeAllowTraffic: CodeDeployHook_preflight\n");
    text
}

/// A Lambda AppSpec as [`lambda_appspec`] writes it, with the hook at both of a canary's events
/// (`BeforeAllowTraffic` and `AfterAllowTraffic`): a deployment of it ends only once its
/// `AfterAllowTraffic` hook has reported.
pub fn lambda_canary_appspec(functions: &[(&str, &str, &str)]) -> String {
    lambda_appspec(functions) + "  - AfterAllowTraffic: CodeDeployHook_preflight\n"
}

/// An ECS AppSpec for the service `checkout`, task definition revision 8, port 8080.
pub const ECS_APPSPEC: &str = r#"version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: "arn:aws:ecs:us-east-1:000000000000:task-definition/checkout:8"
        LoadBalancerInfo:
          ContainerName: "checkout"
          ContainerPort: 8080
Hooks:
  - AfterAllowTestTraffic: "CodeDeployHook_preflight"
"#;

/// An ELBv2 client for a local endpoint (moto), with test credentials.
pub async fn elb_client(endpoint: &str) -> ElbClient {
    ElbClient::new(&local_sdk_config(endpoint, true).await)
}

/// The SDK's configuration for a local endpoint (the stand-in, moto), with test credentials; the
/// SDK's own retries only when `retries`.
pub async fn local_sdk_config(endpoint: &str, retries: bool) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_elasticloadbalancingv2::config::Credentials::new(
            "AKIAREHEARSAL0000000",
            "rehearsal-secret-not-real",
            None,
            None,
            "rehearsal",
        ));
    if !retries {
        loader = loader.retry_config(aws_config::retry::RetryConfig::disabled());
    }
    loader.load().await
}

/// The start of the minute `minutes` before the current one: whole minutes of the past, as
/// CloudWatch counts them, so that traffic simulated into them is read back exactly.
pub fn minutes_ago(minutes: u64) -> std::time::SystemTime {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(now - now % 60 - minutes * 60)
}
