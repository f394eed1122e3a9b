//! `rehearse`: builds preflight's `bootstrap` and runs deployments against a local CodeDeploy.
//!
//! - `rehearse`: the built-in deployments, printed as a user would see them; exits non-zero if
//!   any ended unexpectedly.
//! - `rehearse --serve`: keeps the stand-in up for `cargo lambda watch` / `cargo lambda invoke`.
//! - `rehearse --measure`: start-up time to the first Runtime API poll and peak memory.
//! - `rehearse --maintenance`: the maintenance page against moto's ELBv2 (needs Python).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use rehearsal::campaign::{Scenario, Tally, run_campaign, run_scenario};
use rehearsal::maintenance::rehearse_maintenance;
use rehearsal::measure::{measure_once, median};
use rehearsal::scenario::{Rehearsed, rehearse_all};
use rehearsal::{DeploymentSpec, FunctionVersion, LocalAws, Reply};

const USAGE: &str = "usage: rehearse [--bootstrap PATH] [--logs] [--serve [ADDRESS] | --measure [RUNS] | --campaign [N] [--seed SEED] | --replay SEED]

  (no mode)           rehearse a healthy Lambda release, a broken one and an ECS release
  --serve [ADDRESS]   run the local CodeDeploy and Lambda (default 127.0.0.1:4599) for
                      cargo lambda watch / invoke, and print every report it receives
  --measure [RUNS]    median time from process start to the first Runtime API poll, and
                      peak memory, over RUNS starts (default 20)
  --maintenance       the maintenance page: sample notifications from events/ against
                      moto's ELBv2 (installs moto[server] into target/moto; needs Python 3)
  --campaign [N]      N deployments (default 1000) with random faults; prints the seed
  --seed SEED         the campaign's seed (default: from the clock)
  --replay SEED       run the one campaign scenario with this seed (printed by a violation)
  --logs              also print the hook's own JSON log lines
  --bootstrap PATH    the hook binary to run; by default it is built with cargo build --release";

pub const SAMPLE_DEPLOYMENT_ID: &str = "d-SAMPLE0001";
pub const SAMPLE_EXECUTION_ID: &str = "c2FtcGxlLWhvb2stZXhlY3V0aW9uLTAwMDE=";

enum Mode {
    Rehearse,
    Serve(String),
    Measure(usize),
    Campaign(u64),
    Replay(u64),
    Maintenance,
}

struct Options {
    mode: Mode,
    bootstrap: Option<PathBuf>,
    logs: bool,
    seed: Option<u64>,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        mode: Mode::Rehearse,
        bootstrap: None,
        logs: false,
        seed: None,
    };
    let mut rest = args.iter().peekable();
    while let Some(arg) = rest.next() {
        let value = |rest: &mut std::iter::Peekable<std::slice::Iter<String>>| {
            rest.next_if(|next| !next.starts_with("--")).cloned()
        };
        match arg.as_str() {
            "--bootstrap" => options.bootstrap = Some(value(&mut rest).ok_or("--bootstrap needs a path")?.into()),
            "--serve" => options.mode = Mode::Serve(value(&mut rest).unwrap_or_else(|| "127.0.0.1:4599".into())),
            "--measure" => {
                let runs = value(&mut rest).map_or(Ok(20), |n| n.parse::<usize>());
                options.mode = Mode::Measure(runs.ok().filter(|n| *n > 0).ok_or("--measure takes a number of runs")?);
            }
            "--logs" => options.logs = true,
            "--maintenance" => options.mode = Mode::Maintenance,
            "--campaign" => {
                let count = value(&mut rest).map_or(Ok(1_000), |n| n.parse::<u64>());
                options.mode = Mode::Campaign(
                    count
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or("--campaign takes a number of deployments")?,
                );
            }
            "--seed" => options.seed = Some(parse_seed(value(&mut rest).as_deref())?),
            "--replay" => options.mode = Mode::Replay(parse_seed(value(&mut rest).as_deref())?),
            "--help" | "-h" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse_args(&args) {
        Ok(options) => options,
        Err(message) => return fail(&message),
    };
    if let Mode::Serve(address) = &options.mode {
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
    match options.mode {
        Mode::Measure(runs) => measure(&bootstrap, runs).await,
        Mode::Campaign(count) => campaign(&bootstrap, count, options.seed).await,
        Mode::Replay(seed) => replay(&bootstrap, seed).await,
        Mode::Maintenance => maintenance(&bootstrap, options.logs).await,
        _ => rehearse(&bootstrap, options.logs).await,
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

async fn measure(bootstrap: &std::path::Path, runs: usize) -> ExitCode {
    let size = std::fs::metadata(bootstrap).map(|m| m.len()).unwrap_or_default();
    let mut starts = Vec::with_capacity(runs);
    let mut peaks = Vec::with_capacity(runs);
    for _ in 0..runs {
        match measure_once(bootstrap).await {
            Ok(figures) => {
                starts.push(figures.to_first_poll);
                peaks.extend(figures.peak_rss_kib);
            }
            Err(error) => return fail(&format!("measuring failed: {error}")),
        }
    }
    let start = median(&mut starts).unwrap_or_default();
    println!(
        "bootstrap: {} ({:.1} MiB)",
        bootstrap.display(),
        size as f64 / 1_048_576.0
    );
    println!("runs: {runs}");
    println!(
        "start to first Runtime API poll: median {:.1} ms (min {:.1}, max {:.1})",
        ms(start),
        ms(starts.first().copied().unwrap_or_default()),
        ms(starts.last().copied().unwrap_or_default())
    );
    match median(&mut peaks) {
        Some(kib) => println!(
            "peak RSS after one hook execution: median {:.1} MiB",
            kib as f64 / 1024.0
        ),
        None => println!("peak RSS: not available (needs /proc)"),
    }
    ExitCode::SUCCESS
}

/// Seeds print and parse as hex (`0x…`) or decimal.
fn parse_seed(text: Option<&str>) -> Result<u64, String> {
    let text = text.ok_or("a seed is needed")?;
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

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// A long-running stand-in for local development with cargo lambda.
async fn serve(address: &str) -> ExitCode {
    let aws = match LocalAws::start_on(address).await {
        Ok(aws) => aws,
        Err(error) => return fail(&format!("cannot listen on {address}: {error}")),
    };
    aws.add_function("my-api", "1", FunctionVersion::replying(Reply::Status(200)));
    aws.add_function("my-api", "2", FunctionVersion::replying(Reply::Status(200)));
    let appspec = "version: 0.0\nResources:\n  - myApi:\n      Type: AWS::Lambda::Function\n      \
                   Properties: {Name: my-api, Alias: live, CurrentVersion: 1, TargetVersion: 2}\n";
    // The ids of events/lifecycle-hook.json, so that the sample event drives this deployment.
    let deployment = aws.create_deployment_with_ids(
        DeploymentSpec::lambda(appspec),
        SAMPLE_DEPLOYMENT_ID,
        SAMPLE_EXECUTION_ID,
    );
    println!("local CodeDeploy and Lambda at {}", aws.endpoint_url());
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
    println!("  cargo lambda invoke bootstrap --data-file events/lifecycle-hook.json\n");
    println!("reports received (Ctrl-C to stop):");
    let mut seen = 0;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return ExitCode::SUCCESS,
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        let reports = aws.reports();
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

/// Builds `bootstrap` in release mode (the xtask pattern: cargo runs cargo).
fn build_bootstrap() -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(&cargo)
        .args(["build", "--release", "--quiet", "-p", "preflight", "--bin", "bootstrap"])
        .status()
        .map_err(|error| format!("could not run {cargo}: {error}"))?;
    if !status.success() {
        return Err("building bootstrap failed (see above)".into());
    }
    let here = std::env::current_exe().map_err(|error| format!("cannot find this binary's folder: {error}"))?;
    let folder = here.parent().ok_or("this binary has no parent folder")?;
    // rehearse lives in target/<profile>/; the hook is always the release build in target/release/.
    let target = folder.parent().ok_or("this binary is not in a cargo target folder")?;
    Ok(target.join("release").join("bootstrap"))
}

fn fail(message: &str) -> ExitCode {
    eprintln!("rehearse: {message}");
    ExitCode::FAILURE
}
