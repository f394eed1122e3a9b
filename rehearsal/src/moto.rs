//! A real ELBv2 on loopback: `moto_server` (PyPI `moto[server]`, pinned in
//! `tests/moto/requirements.txt`), installed into `target/moto/venv` on first use and started on
//! a free port. The maintenance page is tested against it rather than against a hand-written
//! fake, so that the listener rules it creates are the ones an ELBv2 API accepts.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;
use tokio::process::Child;

/// The running server. Dropping it stops the process.
pub struct MotoServer {
    _child: Child,
    port: u16,
}

/// What `tests/moto/alb.py` creates: a load balancer's listener and two target groups.
#[derive(Debug, Clone, Deserialize)]
pub struct Alb {
    pub listener: String,
    pub app_target_group: String,
    pub sorry_target_group: String,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn moto_files() -> PathBuf {
    workspace_root().join("tests").join("moto")
}

fn venv() -> PathBuf {
    workspace_root().join("target").join("moto").join("venv")
}

fn run(command: &mut Command) -> std::io::Result<String> {
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

/// Creates the venv and installs the pinned requirements, once per requirements file content.
fn install() -> std::io::Result<PathBuf> {
    // Tests of one binary run on several threads; one installs, the others wait.
    static INSTALLING: Mutex<()> = Mutex::new(());
    let _guard = INSTALLING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let requirements = moto_files().join("requirements.txt");
    let wanted = std::fs::read_to_string(&requirements)?;
    let venv = venv();
    let stamp = venv.join("installed-requirements.txt");
    let python = venv.join("bin").join("python");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) && python.is_file() {
        return Ok(venv);
    }
    if !python.is_file() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    run(Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&requirements))?;
    std::fs::write(&stamp, wanted)?;
    Ok(venv)
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl MotoServer {
    /// Installs moto if needed, starts it, and waits until it answers.
    pub async fn start() -> std::io::Result<MotoServer> {
        let venv = tokio::task::spawn_blocking(install)
            .await
            .map_err(std::io::Error::other)??;
        let port = free_port()?;
        let child = tokio::process::Command::new(venv.join("bin").join("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let server = MotoServer { _child: child, port };
        server.wait_until_ready().await?;
        Ok(server)
    }

    /// moto binds its port once the app is loaded, so a connection means it is serving.
    async fn wait_until_ready(&self) -> std::io::Result<()> {
        for _ in 0..300 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(std::io::Error::other(format!(
            "moto_server did not listen on port {} within 30 s",
            self.port
        )))
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2`.
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a load balancer with a listener and target groups (see `tests/moto/alb.py`).
    pub async fn create_alb(&self) -> std::io::Result<Alb> {
        let python = venv().join("bin").join("python");
        let script = moto_files().join("alb.py");
        let endpoint = self.endpoint_url();
        let output = tokio::task::spawn_blocking(move || run(Command::new(python).arg(script).arg(endpoint)))
            .await
            .map_err(std::io::Error::other)??;
        serde_json::from_str(output.trim()).map_err(std::io::Error::other)
    }
}
