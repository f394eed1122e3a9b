//! The third-party programs the tests and tools run (moto's ELBv2, Mangum, serverless-express,
//! the boto3 peer), installed from locked files into `target/installs/`, once per content of
//! those files: a second run, or a second test binary, finds them ready.
//!
//! Python requirements files pin every package, transitive ones included, and are installed with
//! `--no-deps`, so nothing floats; npm installs from `package-lock.json` with `npm ci`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::kit::workspace_root;

/// A Python virtual environment with a locked requirements file installed.
#[derive(Debug, Clone)]
pub struct PythonEnv {
    dir: PathBuf,
}

impl PythonEnv {
    /// The environment for `requirements` (a path under the workspace), made if needed.
    pub fn ensure(requirements: &Path) -> std::io::Result<PythonEnv> {
        let dir = once_per_content("python", &[requirements], |dir| {
            run(Command::new("python3").args(["-m", "venv"]).arg(dir))?;
            run(Command::new(dir.join("bin").join("python"))
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--no-deps",
                    "-r",
                ])
                .arg(requirements))
        })?;
        Ok(PythonEnv { dir })
    }

    /// The environment's interpreter; run its tools as `python -m MODULE`.
    pub fn python(&self) -> PathBuf {
        self.dir.join("bin").join("python")
    }

    /// The environment's `bin/` folder (for programs pip installed as binaries).
    pub fn bin(&self) -> PathBuf {
        self.dir.join("bin")
    }
}

/// `node_modules` for the `package.json` and `package-lock.json` in `package_dir`, made with
/// `npm ci` if needed. Returns the folder to put on `NODE_PATH`.
pub fn node_modules(package_dir: &Path) -> std::io::Result<PathBuf> {
    let manifest = package_dir.join("package.json");
    let lock = package_dir.join("package-lock.json");
    let dir = once_per_content("node", &[&manifest, &lock], |dir| {
        std::fs::create_dir_all(dir)?;
        std::fs::copy(&manifest, dir.join("package.json"))?;
        std::fs::copy(&lock, dir.join("package-lock.json"))?;
        run(Command::new("npm")
            .args(["ci", "--silent", "--no-audit", "--no-fund"])
            .current_dir(dir))
    })?;
    Ok(dir.join("node_modules"))
}

/// Runs `install` into `target/installs/KIND-HASH/` unless a finished install of the same
/// inputs is there. A lock file keeps two processes (or threads) from installing at once; a
/// half-finished install (no stamp) is removed and made again.
fn once_per_content(
    kind: &str,
    inputs: &[&Path],
    install: impl FnOnce(&Path) -> std::io::Result<()>,
) -> std::io::Result<PathBuf> {
    let mut hasher = Sha256::new();
    for input in inputs {
        hasher.update(std::fs::read(input)?);
    }
    let hash: String = hasher.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    let root = workspace_root().join("target").join("installs");
    std::fs::create_dir_all(&root)?;
    let dir = root.join(format!("{kind}-{hash}"));
    let lock = File::create(root.join(format!("{kind}-{hash}.lock")))?;
    lock.lock()?;
    let stamp = dir.join(".installed");
    if !stamp.is_file() {
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        eprintln!("installing {} into {} (once)", describe(inputs), dir.display());
        install(&dir)?;
        std::fs::write(&stamp, "")?;
    }
    lock.unlock()?;
    Ok(dir)
}

fn describe(inputs: &[&Path]) -> String {
    inputs
        .iter()
        .map(|path| {
            path.strip_prefix(workspace_root())
                .unwrap_or(path)
                .display()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// Runs a command to completion; its output is shown only when it fails.
pub fn run(command: &mut Command) -> std::io::Result<()> {
    output(command).map(drop)
}

/// Runs a command to completion and returns what it printed.
pub fn output(command: &mut Command) -> std::io::Result<String> {
    let output = command.stdin(Stdio::null()).output()?;
    if !output.status.success() {
        return Err(std::io::Error::other(format!(
            "{command:?} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
