//! Getting the contenders ready: release builds, the Python peer's environment, and sizes.

use std::path::{Path, PathBuf};
use std::process::Command;

use rehearsal::Program;

/// Everything the benchmarks run.
pub struct Contenders {
    pub preflight: PathBuf,
    pub floor: PathBuf,
    pub python: Program,
}

/// The workspace root (bench/ is one level down).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn release_dir() -> Result<PathBuf, String> {
    let here = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let target = here
        .parent()
        .and_then(Path::parent)
        .ok_or("this binary is not in a cargo target folder")?;
    Ok(target.join("release"))
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
pub fn prepare() -> Result<Contenders, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(
        Command::new(&cargo).args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "preflight",
            "--bin",
            "bootstrap",
            "-p",
            "preflight-bench-echo",
        ]),
        "cargo build --release",
    )?;
    let release = release_dir()?;
    Ok(Contenders {
        preflight: release.join("bootstrap"),
        floor: release.join("bootstrap-echo"),
        python: python_peer(&release)?,
    })
}

/// `target/bench-venv` with the peer's pinned requirements, made once.
fn python_peer(release: &Path) -> Result<Program, String> {
    let root = workspace_root();
    let peer_dir = root.join("bench").join("python-peer");
    let venv = release.parent().ok_or("no target folder")?.join("bench-venv");
    let python = venv.join("bin").join("python");
    let ready = venv.join(".requirements-installed");
    if !ready.is_file() {
        eprintln!("setting up the Python peer in {} (once)", venv.display());
        run(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            "python3 -m venv",
        )?;
        run(
            Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
                .arg(peer_dir.join("requirements.txt")),
            "pip install -r bench/python-peer/requirements.txt",
        )?;
        std::fs::write(&ready, "").map_err(|e| format!("cannot write {}: {e}", ready.display()))?;
    }
    let dir = peer_dir.to_string_lossy().into_owned();
    Ok(Program {
        path: python,
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
/// cargo-lambda comes from PyPI into the bench virtualenv when it is not installed.
pub fn lambda_zip(contenders: &Contenders) -> Result<PathBuf, String> {
    let root = workspace_root();
    let venv_bin = contenders
        .python
        .path
        .parent()
        .ok_or("no venv bin folder")?
        .to_path_buf();
    let cargo_lambda = if Command::new("cargo-lambda").arg("--version").output().is_ok() {
        PathBuf::from("cargo-lambda")
    } else {
        let installed = venv_bin.join("cargo-lambda");
        if !installed.is_file() {
            run(
                Command::new(&contenders.python.path).args(["-m", "pip", "install", "--quiet", "cargo-lambda==1.9.2"]),
                "pip install cargo-lambda",
            )?;
        }
        installed
    };
    run(
        Command::new(cargo_lambda)
            .current_dir(&root)
            .env("PATH", path_with(&venv_bin))
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
