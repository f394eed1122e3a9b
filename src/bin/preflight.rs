//! The `preflight` command: the hook's checks, run from a developer's machine or a CI job before
//! the first canary, and its canary judge, run on past or running deployments. The work is the library's (`preflight::command_line`); this file is the
//! argument parser and the exit status.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgGroup, Args, Parser, Subcommand};
use preflight::command_line::check::check;
use preflight::command_line::explain::explain;
use preflight::command_line::judge::{JudgeSubject, judge, parse_time};
use preflight::command_line::{EXIT_USAGE, FunctionRef, Subject, config, plan};
use preflight::plumbing::aws::AwsClients;
use preflight::plumbing::env::process_env;

/// Runs preflight's checks against a deployed Lambda function version or a URL, exactly as the
/// hook would run them, with the same configuration (the CHECK_* variables, PREFLIGHT_CHECKS or
/// PREFLIGHT_CHECKS_FILE) and the caller's usual AWS credentials and region.
///
/// Exit status: 0 when the hook would report Succeeded, 1 when Failed, 2 on a usage or
/// configuration error (nothing was checked); `judge`: 0 Pass, 1 Fail, 3 Inconclusive, 2 a usage,
/// configuration or AWS error.
#[derive(Parser, Debug)]
#[command(name = "preflight", version, about, long_about)]
struct Options {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the checks and print one line per check, then the verdict
    Check(Target),
    /// Print the resolved configuration and exactly what each check would send, sending nothing
    Explain(Target),
    /// Judge a new version on its real traffic against the old one, with the hook's canary
    /// settings, deciding nothing: a past deployment (CloudWatch keeps one-minute data 15 days), a
    /// running one, or two versions or target groups over a time range
    Judge(Judging),
}

#[derive(Args, Debug)]
#[group(skip)]
#[command(group(ArgGroup::new("what").args(["deployment", "function", "new_target_group"]).required(true).multiple(false)))]
struct Judging {
    /// A CodeDeploy deployment, over its AllowTraffic event (until now while it runs): a Lambda
    /// function's TargetVersion against its CurrentVersion, or an ECS service's green task set
    /// against its blue one
    #[arg(long, value_name = "ID")]
    deployment: Option<String>,

    /// A function and the alias that split its traffic (with --new, --old and --from)
    #[arg(long, value_name = "NAME:ALIAS", requires_all = ["new", "old", "from"])]
    function: Option<String>,

    /// The new version, with --function
    #[arg(long, value_name = "VERSION", requires = "function")]
    new: Option<String>,

    /// The old version, with --function
    #[arg(long, value_name = "VERSION", requires = "function")]
    old: Option<String>,

    /// The new version's target group (behind an Application Load Balancer), with
    /// --old-target-group and --from
    #[arg(long, value_name = "ARN", requires_all = ["old_target_group", "from"])]
    new_target_group: Option<String>,

    /// The old version's target group, with --new-target-group
    #[arg(long, value_name = "ARN", requires = "new_target_group")]
    old_target_group: Option<String>,

    /// Start of the time range, RFC 3339 (2026-12-07T10:00:00Z); not with --deployment
    #[arg(long, value_name = "TIME", conflicts_with = "deployment")]
    from: Option<String>,

    /// End of the time range, RFC 3339; default now
    #[arg(long, value_name = "TIME", requires = "from")]
    to: Option<String>,

    /// A check-definitions file (YAML or JSON), instead of PREFLIGHT_CHECKS: the canary key
    /// whose settings judge
    #[arg(long, value_name = "FILE")]
    checks: Option<PathBuf>,
}

#[derive(Args, Debug)]
#[group(skip)]
#[command(group(ArgGroup::new("subject").args(["function", "url"]).required(true).multiple(false)))]
struct Target {
    /// A deployed function version to invoke: NAME[:QUALIFIER] (a version or an alias; default
    /// $LATEST) or its ARN. Repeat for several, as an AppSpec with several functions
    #[arg(long, value_name = "NAME[:QUALIFIER]", value_parser = FunctionRef::parse)]
    function: Vec<FunctionRef>,

    /// A URL to send the HTTP checks to (a local server, a staging load balancer), as ALB_URL
    #[arg(long, value_name = "URL")]
    url: Option<String>,

    /// A check-definitions file (YAML or JSON), instead of PREFLIGHT_CHECKS
    #[arg(long, value_name = "FILE")]
    checks: Option<PathBuf>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let options = Options::parse();
    let (target, explaining) = match options.command {
        Command::Check(target) => (target, false),
        Command::Explain(target) => (target, true),
        Command::Judge(judging) => return judge_command(judging).await,
    };
    let subject = match target.url {
        Some(url) => Subject::Url(url),
        None => Subject::Functions(target.function),
    };
    let config = match config(&subject, target.checks.as_ref(), &process_env) {
        Ok(config) => config,
        Err(error) => return usage(&error),
    };
    let plan = match plan(&config, &subject) {
        Ok(plan) => plan,
        Err(error) => return usage(&error.to_string()),
    };
    if explaining {
        println!("{}", explain(&config, &plan));
        return ExitCode::SUCCESS;
    }
    let clients = AwsClients::from_env();
    match check(&config, plan, &clients).await {
        Ok(checked) => {
            for line in checked.lines() {
                println!("{line}");
            }
            ExitCode::from(checked.exit_code())
        }
        Err(error) => usage(&error),
    }
}

async fn judge_command(judging: Judging) -> ExitCode {
    let subject = match judge_subject(&judging) {
        Ok(subject) => subject,
        Err(error) => return usage(&error),
    };
    let config = match config(&Subject::Functions(Vec::new()), judging.checks.as_ref(), &process_env) {
        Ok(config) => config,
        Err(error) => return usage(&error),
    };
    match judge(&config, &subject, &AwsClients::from_env()).await {
        Ok(judged) => {
            for line in judged.lines() {
                println!("{line}");
            }
            ExitCode::from(judged.exit_code())
        }
        Err(error) => usage(&error),
    }
}

/// What the arguments name; clap has already made sure each goes with its companions.
fn judge_subject(judging: &Judging) -> Result<JudgeSubject, String> {
    if let Some(id) = &judging.deployment {
        return Ok(JudgeSubject::Deployment(id.clone()));
    }
    let from = parse_time(judging.from.as_deref().unwrap_or_default())?;
    let to = match &judging.to {
        Some(to) => parse_time(to)?,
        None => std::time::SystemTime::now(),
    };
    if let Some(function) = &judging.function {
        if function.starts_with("arn:") {
            return Err(format!(
                "--function `{function}` is an ARN: give NAME:ALIAS (CloudWatch names a function by its name)"
            ));
        }
        let Some((name, alias)) = function
            .split_once(':')
            .filter(|(name, alias)| !name.is_empty() && !alias.is_empty())
        else {
            return Err(format!(
                "--function `{function}` is not NAME:ALIAS: name the alias whose weights split the traffic"
            ));
        };
        return Ok(JudgeSubject::Function {
            function: name.to_string(),
            alias: alias.to_string(),
            new: judging.new.clone().unwrap_or_default(),
            old: judging.old.clone().unwrap_or_default(),
            from,
            to,
        });
    }
    Ok(JudgeSubject::TargetGroups {
        new: judging.new_target_group.clone().unwrap_or_default(),
        old: judging.old_target_group.clone().unwrap_or_default(),
        from,
        to,
    })
}

fn usage(error: &str) -> ExitCode {
    eprintln!("preflight: {error}");
    ExitCode::from(EXIT_USAGE)
}
