//! Runs the real `bootstrap` binary (or any Runtime API program) as a child process, pointed at
//! a [`LocalAws`], and collects its log lines; waiters wake on each new line.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Notify;

use crate::local_aws::LocalAws;

/// The hook process. Dropping it kills the process.
pub struct HookProcess {
    child: Child,
    lines: Arc<Lines>,
}

/// What the process printed, and a bell that rings with each line.
#[derive(Default)]
struct Lines {
    seen: Mutex<Vec<String>>,
    added: Notify,
}

/// How long a wait for log lines may take: a summary is written before the invocation answers,
/// so only the pipe stands between them; the bound is for a line that never comes.
const LINE_BUDGET: Duration = Duration::from_secs(5);

/// A program that speaks the Lambda Runtime API: preflight's `bootstrap`, or any other runtime.
#[derive(Debug, Clone)]
pub struct Program {
    pub path: PathBuf,
    pub args: Vec<String>,
    pub current_dir: Option<PathBuf>,
    pub env: Vec<(String, String)>,
}

impl Program {
    pub fn binary(path: &Path) -> Program {
        Program {
            path: path.to_path_buf(),
            args: Vec::new(),
            current_dir: None,
            env: Vec::new(),
        }
    }
}

impl HookProcess {
    /// Starts `bootstrap` with a clean environment: the Lambda variables the runtime needs,
    /// dummy credentials, the stand-in's endpoints, and then `config` (preflight's settings).
    pub fn launch(bootstrap: &Path, aws: &LocalAws, config: &[(&str, &str)]) -> std::io::Result<HookProcess> {
        HookProcess::launch_program(&Program::binary(bootstrap), aws, config)
    }

    /// Starts any [`Program`] the same way.
    pub fn launch_program(program: &Program, aws: &LocalAws, config: &[(&str, &str)]) -> std::io::Result<HookProcess> {
        let mut command = Command::new(&program.path);
        command.args(&program.args);
        if let Some(dir) = &program.current_dir {
            command.current_dir(dir);
        }
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", aws.runtime_api())
            .env("AWS_ENDPOINT_URL", aws.endpoint_url())
            // Lambda sets both; boto3 reads only the second.
            .env("AWS_REGION", "us-east-1")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "AKIAREHEARSAL0000000")
            .env("AWS_SECRET_ACCESS_KEY", "rehearsal-secret-not-real")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_LAMBDA_FUNCTION_NAME", "CodeDeployHook_preflight")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/CodeDeployHook_preflight")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "rehearsal")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (name, value) in &program.env {
            command.env(name, value);
        }
        for (name, value) in config {
            command.env(name, value);
        }
        let mut child = command.spawn()?;
        let lines = Arc::new(Lines::default());
        if let Some(stdout) = child.stdout.take() {
            collect(stdout, Arc::clone(&lines));
        }
        if let Some(stderr) = child.stderr.take() {
            collect(stderr, Arc::clone(&lines));
        }
        Ok(HookProcess { child, lines })
    }

    /// Every line the process printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.seen.lock().map(|lines| lines.clone()).unwrap_or_default()
    }

    /// The JSON log lines whose message is `hook summary`.
    pub fn summaries(&self) -> Vec<Value> {
        self.logged("hook summary")
    }

    /// The JSON log lines with this message (`hook summary`, `maintenance summary`, …).
    pub fn logged(&self, message: &str) -> Vec<Value> {
        self.json_lines(|value| value.get("message").and_then(Value::as_str) == Some(message))
    }

    /// The CloudWatch Embedded Metric Format records the process wrote (lines with `_aws`).
    pub fn metric_records(&self) -> Vec<Value> {
        self.json_lines(is_metric_record)
    }

    /// Waits until at least `count` metric records have been read (see [`Self::wait_for_logged`]).
    pub async fn wait_for_metric_records(&self, count: usize) -> Vec<Value> {
        self.wait_for(count, || self.metric_records()).await
    }

    fn json_lines(&self, keep: impl Fn(&Value) -> bool) -> Vec<Value> {
        self.lines()
            .iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|value| keep(value))
            .collect()
    }

    /// Waits until at least `count` summary lines have been read from the pipe.
    pub async fn wait_for_summaries(&self, count: usize) -> Vec<Value> {
        self.wait_for_logged("hook summary", count).await
    }

    /// Waits until at least `count` lines with this message have been read, waking on each new
    /// line; gives up after [`LINE_BUDGET`] and returns what there is.
    pub async fn wait_for_logged(&self, message: &str, count: usize) -> Vec<Value> {
        self.wait_for(count, || self.logged(message)).await
    }

    async fn wait_for(&self, count: usize, look: impl Fn() -> Vec<Value>) -> Vec<Value> {
        let waiting = async {
            loop {
                let added = self.lines.added.notified();
                let found = look();
                if found.len() >= count {
                    return found;
                }
                added.await;
            }
        };
        match tokio::time::timeout(LINE_BUDGET, waiting).await {
            Ok(found) => found,
            Err(_) => look(),
        }
    }

    /// The operating system's process id.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

fn is_metric_record(value: &Value) -> bool {
    value.get("_aws").is_some()
}

fn collect(stream: impl AsyncRead + Unpin + Send + 'static, lines: Arc<Lines>) {
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            if let Ok(mut seen) = lines.seen.lock() {
                seen.push(line);
            }
            lines.added.notify_waiters();
        }
    });
}
