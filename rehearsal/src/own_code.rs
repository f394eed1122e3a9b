//! Rehearsals with the user's own code. `rehearse --function NAME=COMMAND` runs a CodeDeploy
//! deployment in the stand-in whose new version of NAME is the user's program: anything that
//! speaks the Lambda Runtime API (a Rust `bootstrap`, `python -m awslambdaric app.handler`, a Node
//! handler under `aws-lambda-ric`), started as a child process with a Runtime API of its own and
//! invoked by the hook through the stand-in's Lambda Invoke. `rehearse --url URL` does the same
//! for an HTTP service, as an ECS deployment checked through `ALB_URL`. The user's preflight
//! settings (`CHECK_*`, `PREFLIGHT_CHECKS`, …) come from this process's environment.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use preflight::codedeploy_hook::appspec::{Deployed, parse_appspec};

use stand_in::kit::{ECS_APPSPEC, lambda_appspec};
use stand_in::{DeploymentSpec, FunctionVersion, HookProcess, LocalAws, OwnRuntime, Program, Reply, Rig};

use crate::rehearsed::{Rehearsed, Story, finish};

/// How long one invocation of the user's program may take, as a function's configured timeout.
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(30);

/// `NAME=COMMAND`: a function of the AppSpec, and the command that runs its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnFunction {
    pub name: String,
    pub command: String,
}

impl OwnFunction {
    pub fn parse(text: &str) -> Result<OwnFunction, String> {
        match text.split_once('=') {
            Some((name, command)) if !name.trim().is_empty() && !command.trim().is_empty() => Ok(OwnFunction {
                name: name.trim().to_string(),
                command: command.trim().to_string(),
            }),
            _ => Err(format!(
                "`{text}` is not NAME=COMMAND, e.g. my-api=./target/release/bootstrap or \
                 my-api='python -m awslambdaric app.handler'"
            )),
        }
    }
}

/// The preflight settings in this process's environment, for the hook: what the user would put
/// in the template's parameters.
pub fn settings_from_env() -> Vec<(String, String)> {
    const NAMES: [&str; 5] = [
        "ALB_URL",
        "EXPECTED_STATUS",
        "EVENT_FORMAT",
        "DEADLINE_MARGIN_MS",
        "SSL_CERT_FILE",
    ];
    std::env::vars()
        .filter(|(name, _)| {
            name.starts_with("CHECK_") || name.starts_with("PREFLIGHT_") || NAMES.contains(&name.as_str())
        })
        .collect()
}

/// The variables a user's program keeps from this process's environment, so that its
/// interpreter and libraries are found (the rest is the Lambda environment the stand-in gives).
const KEPT: [&str; 9] = [
    "PATH",
    "HOME",
    "LANG",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "NODE_PATH",
    "LD_LIBRARY_PATH",
    "SSL_CERT_FILE",
    "TZ",
];

/// Starts `function`'s command with a Runtime API of its own, as version `version` of its
/// function in `aws`; the returned process lives as long as it is kept.
async fn start_own_function(aws: &LocalAws, function: &OwnFunction, version: &str) -> std::io::Result<HookProcess> {
    let runtime = Arc::new(LocalAws::start().await?);
    let mut env: Vec<(String, String)> = KEPT
        .iter()
        .filter_map(|name| std::env::var(name).ok().map(|value| (name.to_string(), value)))
        .collect();
    env.push(("AWS_LAMBDA_FUNCTION_NAME".into(), function.name.clone()));
    env.push(("AWS_LAMBDA_FUNCTION_VERSION".into(), version.to_string()));
    env.push((
        "AWS_LAMBDA_LOG_GROUP_NAME".into(),
        format!("/aws/lambda/{}", function.name),
    ));
    env.push((
        "AWS_LAMBDA_FUNCTION_TIMEOUT".into(),
        FUNCTION_TIMEOUT.as_secs().to_string(),
    ));
    let program = Program {
        path: PathBuf::from("sh"),
        args: vec!["-c".into(), function.command.clone()],
        current_dir: None,
        env,
    };
    let process = HookProcess::launch_program(&program, &runtime, &[])?;
    aws.add_function(
        &function.name,
        version,
        FunctionVersion::replying(Reply::Runtime(OwnRuntime {
            runtime,
            timeout: FUNCTION_TIMEOUT,
        })),
    );
    Ok(process)
}

/// Rehearses a deployment whose new versions are `new`'s programs (and whose current versions
/// are `current`'s, when given), with `appspec` or one made for them (version 1 → 2), the hook
/// configured with `settings` (the command passes [`settings_from_env`]).
pub async fn rehearse_own_functions(
    bootstrap: &Path,
    new: &[OwnFunction],
    current: &[OwnFunction],
    appspec: Option<&Path>,
    settings: &[(String, String)],
) -> std::io::Result<Rehearsed> {
    let appspec = match appspec {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|error| std::io::Error::other(format!("cannot read {}: {error}", path.display())))?,
        None => {
            let versions: Vec<(&str, &str, &str)> = new.iter().map(|f| (f.name.as_str(), "1", "2")).collect();
            lambda_appspec(&versions)
        }
    };
    let functions = match parse_appspec(&appspec) {
        Ok(Deployed::Lambda(functions)) => functions,
        Ok(Deployed::Ecs(_)) => {
            return Err(std::io::Error::other(
                "the AppSpec deploys an ECS service: rehearse an HTTP service with --url instead",
            ));
        }
        Err(error) => return Err(std::io::Error::other(error.to_string())),
    };
    let settings: Vec<(&str, &str)> = settings.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let Rig { aws, hook } = Rig::start(bootstrap, &settings).await?;
    let mut programs = Vec::new();
    let mut lines = Vec::new();
    for function in new {
        let Some(spec) = functions.iter().find(|f| f.name == function.name) else {
            return Err(std::io::Error::other(format!(
                "{} is not a function of the AppSpec (it has {})",
                function.name,
                functions.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ")
            )));
        };
        programs.push(start_own_function(&aws, function, &spec.target_version).await?);
        lines.push(format!(
            "Lambda: {} version {} is your program: {}",
            function.name, spec.target_version, function.command
        ));
    }
    for function in current {
        if let Some(version) = functions
            .iter()
            .find(|f| f.name == function.name)
            .and_then(|f| f.current_version.clone())
        {
            programs.push(start_own_function(&aws, function, &version).await?);
            lines.push(format!(
                "Lambda: {} version {version} is: {}",
                function.name, function.command
            ));
        }
    }
    let deployment = aws.create_deployment(DeploymentSpec::lambda(appspec));
    let shifts: Vec<String> = functions
        .iter()
        .map(|f| {
            format!(
                "{} {} → {}",
                f.name,
                f.current_version.as_deref().unwrap_or("?"),
                f.target_version
            )
        })
        .collect();
    lines.insert(
        0,
        format!(
            "CodeDeploy: deployment {} (Lambda): {}",
            deployment.id,
            shifts.join(", ")
        ),
    );
    let story = Story {
        title: "your release".into(),
        expected: "Succeeded",
        hook_name: "BeforeAllowTraffic",
        lines,
        succeeded: "CodeDeploy: traffic shifted to the new versions".into(),
        failed: "CodeDeploy: deployment failed, rolled back; the aliases stay on the current versions".into(),
    };
    let mut rehearsed = finish(&aws, &hook, &deployment, story).await;
    // What the user's programs printed, for a crash or a stack trace.
    for program in &programs {
        rehearsed.logs.extend(program.lines());
    }
    Ok(rehearsed)
}

/// Rehearses an ECS deployment whose replacement tasks answer at `url` (sent the checks as
/// `ALB_URL`), the hook configured with `settings`.
pub async fn rehearse_url(bootstrap: &Path, url: &str, settings: &[(String, String)]) -> std::io::Result<Rehearsed> {
    let mut settings = settings.to_vec();
    settings.retain(|(name, _)| name != "ALB_URL");
    settings.push(("ALB_URL".into(), url.to_string()));
    let settings: Vec<(&str, &str)> = settings.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let Rig { aws, hook } = Rig::start(bootstrap, &settings).await?;
    let deployment = aws.create_deployment(DeploymentSpec::ecs(ECS_APPSPEC));
    let story = Story {
        title: "your service".into(),
        expected: "Succeeded",
        hook_name: "AfterAllowTestTraffic",
        lines: vec![format!(
            "CodeDeploy: deployment {} (ECS): the test listener is your service at {url} (ALB_URL)",
            deployment.id
        )],
        succeeded: "CodeDeploy: production traffic moves to the replacement task set".into(),
        failed: "CodeDeploy: deployment failed, rolled back to the original task set".into(),
    };
    Ok(finish(&aws, &hook, &deployment, story).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_is_name_equals_command() {
        assert_eq!(
            OwnFunction::parse("my-api=python -m awslambdaric app.handler"),
            Ok(OwnFunction {
                name: "my-api".into(),
                command: "python -m awslambdaric app.handler".into()
            })
        );
        assert!(OwnFunction::parse("my-api").unwrap_err().contains("NAME=COMMAND"));
        assert!(OwnFunction::parse("=cmd").is_err());
    }
}
