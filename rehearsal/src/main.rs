//! `rehearse`: builds preflight's `bootstrap` and runs deployments against a local CodeDeploy.
//!
//! - `rehearse`: the built-in deployments, printed as a user would see them; exits non-zero if
//!   any ended unexpectedly.
//! - `rehearse --serve`: keeps the stand-in up for `cargo lambda watch` / `cargo lambda invoke`.
//! - `rehearse --maintenance`: the maintenance page against moto's ELBv2 (needs Python).
//! - `rehearse --campaign` / `--replay`: the fault campaign.
//!
//! Measurements are the bench's (`cargo run --release -p preflight-bench`), not this tool's.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use rehearsal::campaign::{Scenario, Tally, run_campaign, run_scenario};
use rehearsal::maintenance::rehearse_maintenance;
use rehearsal::own_code::{OwnFunction, rehearse_own_functions, rehearse_url, settings_from_env};
use rehearsal::rehearsed::Rehearsed;
use rehearsal::scenario::rehearse_all;
use stand_in::kit::{lambda_appspec, release_dir};
use stand_in::{Answer, DeploymentSpec, FunctionVersion, HttpTarget, LocalAws, Reply, TestRule};

/// Rehearses preflight deployments against a local CodeDeploy, Lambda and Runtime API, with the
/// real `bootstrap` and no AWS account.
///
/// Without a mode it rehearses the built-in deployments (Lambda releases healthy, broken and
/// degraded, two functions at once, an ECS release under CodeDeploy, ECS-native blue/green
/// releases healthy and rolled back, Lambda canaries judged on their real traffic, one rolled
/// back and one passed, and an ECS-native canary step rolled back on green's real traffic), and
/// exits non-zero if any ends differently from what it expects.
#[derive(Parser, Debug)]
#[command(name = "rehearse", version, about, long_about)]
struct Options {
    /// Keep the local CodeDeploy, ECS, ELBv2 and Lambda running at ADDRESS for `cargo lambda watch` and
    /// `cargo lambda invoke`, printing every report it receives
    #[arg(long, value_name = "ADDRESS", num_args = 0..=1, default_missing_value = "127.0.0.1:4599",
          group = "mode", conflicts_with_all = ["bootstrap", "logs"])]
    serve: Option<String>,

    /// Rehearse the maintenance page: the sample notifications in events/ against moto's ELBv2
    /// (installs moto[server] into target/installs on first use; needs Python 3)
    #[arg(long, group = "mode")]
    maintenance: bool,

    /// Run N deployments with random faults and check every invariant; prints its seed
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "1000",
          value_parser = clap::value_parser!(u64).range(1..), group = "mode", conflicts_with = "logs")]
    campaign: Option<u64>,

    /// The campaign's seed, decimal or 0x hex (default: from the clock)
    #[arg(long, value_name = "SEED", value_parser = parse_seed, requires = "campaign")]
    seed: Option<u64>,

    /// Run the one campaign scenario with this seed (a violation prints it)
    #[arg(long, value_name = "SEED", value_parser = parse_seed, group = "mode", conflicts_with = "logs")]
    replay: Option<u64>,

    /// Rehearse a deployment whose new version of NAME is your own program, any COMMAND that
    /// speaks the Lambda Runtime API (e.g. my-api=./target/release/bootstrap, or
    /// my-api='python -m awslambdaric app.handler'); repeat for several functions. Your CHECK_* and
    /// PREFLIGHT_* variables configure the hook. Exits 1 if the hook reports Failed
    #[arg(long, value_name = "NAME=COMMAND", value_parser = OwnFunction::parse, group = "mode")]
    function: Vec<OwnFunction>,

    /// With --function: the AppSpec to deploy (default: each function from version 1 to 2)
    #[arg(long, value_name = "FILE", requires = "function")]
    appspec: Option<PathBuf>,

    /// With --function: the current version's program, NAME=COMMAND (optional: the hook only
    /// invokes the new versions)
    #[arg(long, value_name = "NAME=COMMAND", value_parser = OwnFunction::parse, requires = "function")]
    current: Vec<OwnFunction>,

    /// Rehearse an ECS deployment whose replacement tasks are your HTTP service at URL (sent the
    /// checks as ALB_URL). Exits 1 if the hook reports Failed
    #[arg(long, value_name = "URL", group = "mode")]
    url: Option<String>,

    /// Also print the hook's own JSON log lines
    #[arg(long)]
    logs: bool,

    /// The hook binary to run; by default it is built with `cargo build --release`
    #[arg(long, value_name = "PATH")]
    bootstrap: Option<PathBuf>,
}

pub const SAMPLE_DEPLOYMENT_ID: &str = "d-SAMPLE0001";
pub const SAMPLE_EXECUTION_ID: &str = "c2FtcGxlLWhvb2stZXhlY3V0aW9uLTAwMDE=";
/// Green's revision in `events/ecs-lifecycle-hook.json`.
pub const SAMPLE_GREEN_REVISION: &str =
    "arn:aws:ecs:us-east-1:111122223333:service-revision/shop/checkout/4980306466373577095";

#[tokio::main]
async fn main() -> ExitCode {
    // --help and --version exit 0; a bad or contradictory command line exits 2, saying why.
    let options = Options::parse();
    if let Some(address) = &options.serve {
        return serve(address).await;
    }
    let bootstrap = match options.bootstrap.map_or_else(build_bootstrap, Ok) {
        Ok(path) if path.is_file() => path,
        Ok(path) => {
            return fail(&format!(
                "no bootstrap binary at {}; build it with cargo build --release",
                path.display()
            ));
        }
        Err(why) => return fail(&why),
    };
    if let Some(count) = options.campaign {
        return campaign(&bootstrap, count, options.seed).await;
    }
    if let Some(seed) = options.replay {
        return replay(&bootstrap, seed).await;
    }
    if options.maintenance {
        return maintenance(&bootstrap, options.logs).await;
    }
    if !options.function.is_empty() {
        println!("preflight rehearsal with your own function: a local CodeDeploy and Lambda on 127.0.0.1\n");
        let (new, current, appspec) = (&options.function, &options.current, options.appspec.as_deref());
        let rehearsed = rehearse_own_functions(&bootstrap, new, current, appspec, &settings_from_env()).await;
        return own(rehearsed, options.logs);
    }
    if let Some(url) = &options.url {
        println!("preflight rehearsal with your own service: a local CodeDeploy on 127.0.0.1\n");
        return own(rehearse_url(&bootstrap, url, &settings_from_env()).await, options.logs);
    }
    rehearse(&bootstrap, options.logs).await
}

/// Prints a rehearsal of the user's own code; exits 1 if it did not end as expected (Succeeded).
fn own(rehearsed: std::io::Result<Rehearsed>, show_logs: bool) -> ExitCode {
    match rehearsed {
        Ok(rehearsed) => print_rehearsed(&[rehearsed], show_logs),
        Err(error) => fail(&format!("could not run the rehearsal: {error}")),
    }
}

async fn rehearse(bootstrap: &std::path::Path, show_logs: bool) -> ExitCode {
    println!("preflight rehearsal: a local CodeDeploy and Lambda on 127.0.0.1, no AWS account needed");
    println!("hook binary: {}\n", bootstrap.display());
    let rehearsed = match rehearse_all(bootstrap).await {
        Ok(rehearsed) => rehearsed,
        Err(error) => return fail(&format!("could not run the rehearsal: {error}")),
    };
    print_rehearsed(&rehearsed, show_logs)
}

async fn maintenance(bootstrap: &std::path::Path, show_logs: bool) -> ExitCode {
    println!("preflight maintenance page rehearsal: moto's ELBv2 and a local CodeDeploy on 127.0.0.1");
    println!("hook binary: {}\n", bootstrap.display());
    match rehearse_maintenance(bootstrap).await {
        Ok(rehearsed) => print_rehearsed(&[rehearsed], show_logs),
        Err(error) => fail(&format!("could not run the maintenance rehearsal: {error}")),
    }
}

fn print_rehearsed(rehearsed: &[Rehearsed], show_logs: bool) -> ExitCode {
    for (n, deployment) in rehearsed.iter().enumerate() {
        println!("{}. {}", n + 1, deployment.title);
        for line in &deployment.lines {
            println!("   {line}");
        }
        if show_logs {
            println!("   hook logs:");
            for line in &deployment.logs {
                println!("     {line}");
            }
        }
        let verdict = if deployment.as_expected() {
            "as expected"
        } else {
            "UNEXPECTED"
        };
        println!("   expected {}: {verdict}\n", deployment.expected);
    }
    let as_expected = rehearsed.iter().filter(|d| d.as_expected()).count();
    println!(
        "{as_expected} of {} rehearsed deployments ended as expected",
        rehearsed.len()
    );
    if as_expected == rehearsed.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Seeds print and parse as hex (`0x…`) or decimal.
fn parse_seed(text: &str) -> Result<u64, String> {
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.map_err(|_| format!("`{text}` is not a seed (decimal or 0x hex)"))
}

async fn campaign(bootstrap: &std::path::Path, count: u64, seed: Option<u64>) -> ExitCode {
    let seed = seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    println!("fault campaign: {count} deployments, seed {seed:#018x}");
    println!("(replay the campaign with --campaign {count} --seed {seed:#018x})");
    let started = std::time::Instant::now();
    let tally = match run_campaign(bootstrap, seed, count, 16).await {
        Ok(tally) => tally,
        Err(error) => return fail(&format!("the campaign could not run: {error}")),
    };
    print_tally(&tally, started.elapsed());
    if tally.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print_tally(tally: &Tally, elapsed: Duration) {
    let ok = tally.deployments - tally.failures.len();
    println!(
        "deployments: {} ({} expected Failed, {} expected Succeeded)",
        tally.deployments,
        tally.expected_failed,
        tally.deployments - tally.expected_failed
    );
    println!(
        "deliveries: {} (Lambda retries and duplicates included)",
        tally.deliveries
    );
    println!(
        "fault sets injected: {}, duplicate deliveries: {}, tight deadlines: {}",
        tally.faults_injected, tally.duplicates, tally.tight_deadlines
    );
    println!("deployments with every invariant held: {ok} of {}", tally.deployments);
    println!(
        "  (exactly one accepted report, expected status, report before the deadline, no lost invocation, no crash)"
    );
    for (scenario, violations) in &tally.failures {
        println!("VIOLATION {scenario}");
        for violation in violations {
            println!("  - {violation}");
        }
        println!(
            "  replay: cargo run --release -p preflight-rehearsal -- --replay {:#018x}",
            scenario.seed
        );
    }
    println!("violations: {} in {:.1} s", tally.failures.len(), elapsed.as_secs_f64());
}

async fn replay(bootstrap: &std::path::Path, seed: u64) -> ExitCode {
    let scenario = Scenario::draw(seed);
    println!("{scenario}");
    println!("expected: {}", scenario.expected_status());
    match run_scenario(bootstrap, &scenario).await {
        Ok(outcome) if outcome.violations.is_empty() => {
            println!("every invariant held over {} deliveries", outcome.deliveries);
            ExitCode::SUCCESS
        }
        Ok(outcome) => {
            for violation in outcome.violations {
                println!("VIOLATION: {violation}");
            }
            ExitCode::FAILURE
        }
        Err(error) => fail(&format!("the scenario could not run: {error}")),
    }
}

/// A long-running stand-in for local development with cargo lambda.
async fn serve(address: &str) -> ExitCode {
    let aws = match LocalAws::start_on(address).await {
        Ok(aws) => aws,
        Err(error) => return fail(&format!("cannot listen on {address}: {error}")),
    };
    aws.add_function("my-api", "1", FunctionVersion::replying(Reply::Status(200)));
    aws.add_function("my-api", "2", FunctionVersion::replying(Reply::Status(200)));
    // The ids of events/lifecycle-hook.json, so that the sample event drives this deployment.
    let deployment = aws.create_deployment_with_ids(
        DeploymentSpec::lambda(lambda_appspec(&[("my-api", "1", "2")])),
        SAMPLE_DEPLOYMENT_ID,
        SAMPLE_EXECUTION_ID,
    );
    // An ECS-native service whose green revision is events/ecs-lifecycle-hook.json's, with test
    // traffic already on green, which answers /healthcheck.
    let green = match HttpTarget::start(&[("/healthcheck", Answer::Status(200))]).await {
        Ok(green) => green,
        Err(error) => return fail(&format!("cannot start the local green service: {error}")),
    };
    let service = aws.add_ecs_service(green.port(), TestRule::default());
    let service = aws.name_green_revision(&service, SAMPLE_GREEN_REVISION);
    aws.shift_test_traffic(&service, true);
    println!("local CodeDeploy, ECS, ELBv2 and Lambda at {}", aws.endpoint_url());
    println!(
        "deployment {} (my-api 1 → 2), hook event:\n  {}\n",
        deployment.id,
        deployment.hook_event()
    );
    println!("in another shell:");
    println!(
        "  AWS_ENDPOINT_URL={} AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local \\\n  \
         AWS_EC2_METADATA_DISABLED=true cargo lambda watch",
        aws.endpoint_url()
    );
    println!(
        "  cargo lambda invoke bootstrap --data-file events/lifecycle-hook.json       # CodeDeploy: reported here"
    );
    println!(
        "  cargo lambda invoke bootstrap --data-file events/ecs-lifecycle-hook.json   # ECS: green at {} answers\n",
        green.host_port()
    );
    println!("reports received (Ctrl-C to stop):");
    let mut seen = 0;
    loop {
        // Wakes when a report arrives; the budget only bounds one wait, not the loop.
        let reports = tokio::select! {
            _ = tokio::signal::ctrl_c() => return ExitCode::SUCCESS,
            reports = aws.wait_for_reports_after(seen, Duration::from_secs(3600)) => reports,
        };
        for report in reports.iter().skip(seen) {
            let accepted = if report.accepted {
                "accepted"
            } else {
                "rejected (already completed or unknown)"
            };
            println!(
                "  {} {}: {} {accepted}",
                report.deployment_id, report.execution_id, report.status
            );
        }
        seen = reports.len();
    }
}

/// Builds `bootstrap` in release mode (the xtask pattern: cargo runs cargo). Selecting this
/// package too gives the same feature unification as `cargo run -p preflight-rehearsal`, whose
/// graph holds preflight (see Cargo.toml): every shared crate is already built, so only
/// `bootstrap` itself is compiled and linked, with cargo's progress shown.
fn build_bootstrap() -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(&cargo)
        .args([
            "build",
            "--release",
            "-p",
            "preflight-rehearsal",
            "-p",
            "preflight",
            "--bin",
            "bootstrap",
        ])
        .status()
        .map_err(|error| format!("could not run {cargo}: {error}"))?;
    if !status.success() {
        return Err("building bootstrap failed (see above)".into());
    }
    Ok(release_dir()?.join("bootstrap"))
}

fn fail(message: &str) -> ExitCode {
    eprintln!("rehearse: {message}");
    ExitCode::FAILURE
}
