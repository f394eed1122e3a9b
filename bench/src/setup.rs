//! Getting the contenders ready: release builds, the Python peer's environment, and sizes.

use std::path::{Path, PathBuf};
use std::process::Command;

use stand_in::Program;
use stand_in::installs::PythonEnv;
use stand_in::kit::{release_dir, workspace_root};

/// Everything the benchmarks run.
pub struct Contenders {
    pub preflight: PathBuf,
    pub floor: PathBuf,
    pub python: Program,
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let status = command.status().map_err(|e| format!("{what}: cannot start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

/// Builds preflight and the floor in release mode and sets up the peer's virtualenv.
/// `bootstrap`, when given, replaces the preflight binary the bench builds (to compare builds).
pub fn prepare(bootstrap: Option<PathBuf>) -> Result<Contenders, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(
        // Both binaries named, since `--bin` filters every selected package; preflight and the
        // floor alone are selected, so bootstrap gets the features `sam build` gives it.
        Command::new(&cargo).args([
            "build",
            "--release",
            "-p",
            "preflight",
            "-p",
            "preflight-bench-echo",
            "--bin",
            "bootstrap",
            "--bin",
            "bootstrap-echo",
        ]),
        "cargo build --release",
    )?;
    let release = release_dir()?;
    let preflight = bootstrap.unwrap_or_else(|| release.join("bootstrap"));
    if !preflight.is_file() {
        return Err(format!("no preflight binary at {}", preflight.display()));
    }
    Ok(Contenders {
        preflight,
        floor: release.join("bootstrap-echo"),
        python: python_peer()?,
    })
}

/// The Python peer, run by `awslambdaric` from its locked environment.
fn python_peer() -> Result<Program, String> {
    let peer_dir = workspace_root().join("bench").join("python-peer");
    let env = PythonEnv::ensure(&peer_dir.join("requirements.txt"))
        .map_err(|e| format!("cannot install the Python peer's requirements: {e}"))?;
    let dir = peer_dir.to_string_lossy().into_owned();
    Ok(Program {
        path: env.python(),
        args: vec!["-m".into(), "awslambdaric".into(), "hook.handler".into()],
        current_dir: Some(peer_dir),
        env: vec![("LAMBDA_TASK_ROOT".into(), dir.clone()), ("PYTHONPATH".into(), dir)],
    })
}

/// Bytes of a file, if it exists.
pub fn size_of(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

/// The deployment package as Lambda gets it: `cargo lambda build --release --arm64` zipped.
/// cargo-lambda (with the zig it cross-links with) comes from its locked requirements when it is
/// not on the PATH.
pub fn lambda_zip() -> Result<PathBuf, String> {
    let root = workspace_root();
    let (cargo_lambda, tools_bin) = if Command::new("cargo-lambda").arg("--version").output().is_ok() {
        (PathBuf::from("cargo-lambda"), None)
    } else {
        let env = PythonEnv::ensure(&root.join("bench").join("cargo-lambda-requirements.txt"))
            .map_err(|e| format!("cannot install cargo-lambda: {e}"))?;
        (env.bin().join("cargo-lambda"), Some(env.bin()))
    };
    let path = tools_bin
        .map(|bin| path_with(&bin))
        .or_else(|| std::env::var_os("PATH"))
        .unwrap_or_default();
    run(
        Command::new(cargo_lambda)
            .current_dir(&root)
            .env("PATH", path)
            .args([
                "lambda",
                "build",
                "--release",
                "--arm64",
                "--quiet",
                "--bin",
                "bootstrap",
            ])
            .args(["--output-format", "zip"]),
        "cargo lambda build --release --arm64",
    )?;
    Ok(root
        .join("target")
        .join("lambda")
        .join("bootstrap")
        .join("bootstrap.zip"))
}

/// PATH with `dir` first, so that cargo-lambda finds the zig that pip installed beside it.
fn path_with(dir: &Path) -> std::ffi::OsString {
    let mut paths = vec![dir.to_path_buf()];
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(paths).unwrap_or_default()
}
