//! A real ELBv2 on loopback: moto's server (PyPI `moto[server]`, locked in
//! `tests/moto/requirements.txt`). The maintenance page is tested against it rather than a
//! hand-written fake, so that the listener rules it creates are ones an ELBv2 API accepts.
//!
//! One server serves a whole test binary ([`MotoServer::shared`]); each test creates its own
//! load balancer in it. The server runs under a small shell watchdog that kills it when this
//! process's end of a pipe closes, so it never outlives the tests, even after a panic.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use serde::Deserialize;

use crate::installs::{PythonEnv, output};
use crate::kit::workspace_root;

/// A running moto server. Dropping it stops the server.
pub struct MotoServer {
    port: u16,
    python: PythonEnv,
    /// Closing this pipe is what stops the server (see the module's doc).
    watchdog: Mutex<Option<ChildStdin>>,
    shell: Mutex<Child>,
}

/// What `tests/moto/alb.py` creates: a load balancer's listener and two target groups.
#[derive(Debug, Clone, Deserialize)]
pub struct Alb {
    pub listener: String,
    /// The load balancer's `DNSName`; moto makes it up, and it does not resolve.
    pub dns_name: String,
    pub app_target_group: String,
    pub sorry_target_group: String,
}

fn moto_files() -> PathBuf {
    workspace_root().join("tests").join("moto")
}

impl MotoServer {
    /// The server this process shares, started (and installed) on first use.
    pub async fn shared() -> std::io::Result<&'static MotoServer> {
        static SHARED: OnceLock<Result<MotoServer, String>> = OnceLock::new();
        static STARTING: Mutex<()> = Mutex::new(());
        let started = tokio::task::spawn_blocking(|| {
            let _one_at_a_time = STARTING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            SHARED.get_or_init(|| MotoServer::start_blocking().map_err(|error| error.to_string()))
        })
        .await
        .map_err(std::io::Error::other)?;
        started.as_ref().map_err(|error| std::io::Error::other(error.clone()))
    }

    /// A server of its own, for a rehearsal.
    pub async fn start() -> std::io::Result<MotoServer> {
        tokio::task::spawn_blocking(MotoServer::start_blocking)
            .await
            .map_err(std::io::Error::other)?
    }

    fn start_blocking() -> std::io::Result<MotoServer> {
        let python = PythonEnv::ensure(&moto_files().join("requirements.txt"))?;
        // Port 0: the server binds a free port and says which; nothing can take it in between.
        let mut shell = Command::new("sh")
            .arg("-c")
            .arg(r#""$0" -m moto.server -H 127.0.0.1 -p 0 & server=$!; cat >/dev/null; kill $server"#)
            .arg(python.python())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let watchdog = shell
            .stdin
            .take()
            .ok_or_else(|| std::io::Error::other("no stdin pipe"))?;
        let stderr = shell
            .stderr
            .take()
            .ok_or_else(|| std::io::Error::other("no stderr pipe"))?;
        let mut lines = BufReader::new(stderr).lines();
        let mut said = Vec::new();
        let port = loop {
            let Some(line) = lines.next().transpose()? else {
                return Err(std::io::Error::other(format!(
                    "moto's server stopped before it listened; it said:\n{}",
                    said.join("\n")
                )));
            };
            if let Some(port) = line
                .split_once("Running on http://127.0.0.1:")
                .and_then(|(_, port)| port.trim().parse::<u16>().ok())
            {
                break port;
            }
            said.push(line);
        };
        // The server logs every request to stderr; keep the pipe drained so it never blocks.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        Ok(MotoServer {
            port,
            python,
            watchdog: Mutex::new(Some(watchdog)),
            shell: Mutex::new(shell),
        })
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2`.
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a load balancer of its own, with a listener and target groups (see
    /// `tests/moto/alb.py`); names are unique within the server.
    pub async fn create_alb(&self) -> std::io::Result<Alb> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let name = format!("shop{}", NEXT.fetch_add(1, Ordering::Relaxed));
        let python = self.python.python();
        let script = moto_files().join("alb.py");
        let endpoint = self.endpoint_url();
        let printed =
            tokio::task::spawn_blocking(move || output(Command::new(python).arg(script).arg(endpoint).arg(name)))
                .await
                .map_err(std::io::Error::other)??;
        serde_json::from_str(printed.trim()).map_err(std::io::Error::other)
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // Closing the watchdog's pipe stops the server; the shell then exits by itself.
        if let Ok(mut watchdog) = self.watchdog.lock() {
            drop(watchdog.take());
        }
        if let Ok(mut shell) = self.shell.lock() {
            let _ = shell.wait();
        }
    }
}
