//! The `preflight` command: the hook's checks, run from a developer's machine or a CI job before
//! the first canary. The work is the library's (`preflight::command_line`); this file is the
//! argument parser and the exit status.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgGroup, Args, Parser, Subcommand};
use preflight::command_line::check::check;
use preflight::command_line::explain::explain;
use preflight::command_line::{EXIT_USAGE, FunctionRef, Subject, config, plan};
use preflight::plumbing::aws::AwsClients;
use preflight::plumbing::env::process_env;

/// Runs preflight's checks against a deployed Lambda function version or a URL, exactly as the
/// hook would run them, with the same configuration (the CHECK_* variables, PREFLIGHT_CHECKS or
/// PREFLIGHT_CHECKS_FILE) and the caller's usual AWS credentials and region.
///
/// Exit status: 0 when the hook would report Succeeded, 1 when Failed, 2 on a usage or
/// configuration error (nothing was checked).
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

fn usage(error: &str) -> ExitCode {
    eprintln!("preflight: {error}");
    ExitCode::from(EXIT_USAGE)
}
