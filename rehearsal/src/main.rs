//! `rehearse`: builds preflight's `bootstrap` and runs the built-in deployments against a local
//! CodeDeploy, printing what a user would see. Exits non-zero if any ended unexpectedly.

use std::path::PathBuf;
use std::process::ExitCode;

use rehearsal::scenario::rehearse_all;

const USAGE: &str = "usage: rehearse [--bootstrap PATH]\n\
    Runs preflight's bootstrap against a local CodeDeploy and Lambda: a healthy release, a broken\n\
    one and an ECS release. Without --bootstrap it first builds it (cargo build --release).";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bootstrap = match args.as_slice() {
        [] => match build_bootstrap() {
            Ok(path) => path,
            Err(why) => return fail(&why),
        },
        [flag, path] if flag == "--bootstrap" => PathBuf::from(path),
        _ => return fail(USAGE),
    };
    if !bootstrap.is_file() {
        return fail(&format!("no bootstrap binary at {}; build it with cargo build --release", bootstrap.display()));
    }
    println!("preflight rehearsal: a local CodeDeploy and Lambda on 127.0.0.1, no AWS account needed");
    println!("hook binary: {}\n", bootstrap.display());
    let rehearsed = match rehearse_all(&bootstrap).await {
        Ok(rehearsed) => rehearsed,
        Err(error) => return fail(&format!("could not run the rehearsal: {error}")),
    };
    let mut as_expected = 0;
    for (n, deployment) in rehearsed.iter().enumerate() {
        println!("{}. {}", n + 1, deployment.title);
        for line in &deployment.lines {
            println!("   {line}");
        }
        let verdict = if deployment.as_expected() {
            as_expected += 1;
            "as expected"
        } else {
            "UNEXPECTED"
        };
        println!("   expected {}: {verdict}\n", deployment.expected);
    }
    println!("{as_expected} of {} rehearsed deployments ended as expected", rehearsed.len());
    if as_expected == rehearsed.len() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Builds `bootstrap` in release mode next to this binary (the xtask pattern: cargo runs cargo).
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
    // `cargo run --release` puts rehearse in target/release; a debug rehearse still uses the release hook.
    let release = folder.parent().map(|target| target.join("release").join("bootstrap"));
    Ok(release.unwrap_or_else(|| folder.join("bootstrap")))
}

fn fail(message: &str) -> ExitCode {
    eprintln!("rehearse: {message}");
    ExitCode::FAILURE
}
