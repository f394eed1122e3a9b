//! The fault campaign: many deployments, each with faults drawn from a seeded random stream, each
//! with the verdict those faults imply worked out in advance, each driven through the real hook
//! the way Lambda and CodeDeploy would (asynchronous retries, duplicate deliveries).
//!
//! For every deployment it checks: exactly one accepted report; the reported status is the
//! expected one; the report arrived before the deadline of the delivery that made it; no delivery
//! was lost (every one was answered); the hook process did not crash. A scenario is replayed from
//! its own seed, which a violation prints.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use stand_in::kit::{ECS_APPSPEC, lambda_appspec};
use stand_in::{
    Answer, DeploymentSpec, Fault, FunctionVersion, HookProcess, HttpTarget, LocalAws, Operation, Reply, RevisionForm,
    RuntimeOutcome,
};

/// SplitMix64: small, fast, and the same sequence on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// The seed of scenario `index` of a campaign.
pub fn scenario_seed(campaign_seed: u64, index: u64) -> u64 {
    Rng::new(campaign_seed ^ index.wrapping_mul(0xA24B_AED4_963E_E407)).next_u64()
}

/// The hook's settings in the campaign. The Lambda client makes one attempt per check attempt
/// (no SDK backoff inside an attempt), so 1 s is ample for a healthy or slow (100 ms) target on a
/// loaded machine, and a hanging one costs 3 s, not 6.
const ATTEMPTS: u32 = 3;
const HOOK_CONFIG: &[(&str, &str)] = &[
    ("CHECK_ATTEMPTS", "3"),
    ("CHECK_INTERVAL_MS", "50"),
    ("CHECK_TIMEOUT_MS", "1000"),
    ("DEADLINE_MARGIN_MS", "1000"),
];
const NORMAL_TIMEOUT: Duration = Duration::from_secs(20);
/// Leaves 1.5 s for the checks after the margin.
const TIGHT_TIMEOUT: Duration = Duration::from_millis(2_500);
/// The SDK's attempts per AWS call (see preflight's `aws` module): up to 3 retryable faults recover.
const SDK_ATTEMPTS: usize = 4;

/// What a target does when checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Healthy,
    Slow,
    ServerError,
    FunctionError,
    Hang,
    /// Answers 503 to the first N invocations, then 200 (Lambda only).
    WarmingUp(u32),
    /// Closes the connection at once (HTTP only).
    Reset,
}

impl Target {
    fn passes(self) -> bool {
        self.invocations_to_pass().is_some_and(|needed| needed <= ATTEMPTS)
    }

    /// How many answered invocations the target needs before one passes, if any ever does.
    fn invocations_to_pass(self) -> Option<u32> {
        match self {
            Target::Healthy | Target::Slow => Some(1),
            Target::WarmingUp(n) => Some(n + 1),
            _ => None,
        }
    }
}

/// A fault on an AWS operation, with how many calls it hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Injected {
    operation: Operation,
    fault: Fault,
    times: usize,
}

/// One drawn deployment.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub seed: u64,
    http: bool,
    targets: Vec<Target>,
    faults: Vec<Injected>,
    tight_deadline: bool,
    duplicate: bool,
    legacy_string: bool,
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seed {:#018x}: {} targets {:?}, faults {:?}, tight deadline {}, duplicate {}, legacy String revision {}",
            self.seed,
            if self.http { "HTTP" } else { "Lambda" },
            self.targets,
            self.faults,
            self.tight_deadline,
            self.duplicate,
            self.legacy_string
        )
    }
}

impl Scenario {
    /// Draws a scenario whose expected verdict the model below can tell.
    pub fn draw(seed: u64) -> Scenario {
        let mut rng = Rng::new(seed);
        let http = rng.chance(40);
        let count = 1 + rng.below(3) as usize;
        // A denied report makes Lambda deliver again; the verdict must not depend on which
        // delivery it is, so those scenarios use targets and faults without memory.
        let report_denied = rng.chance(10);
        let targets = (0..count).map(|_| draw_target(&mut rng, http, report_denied)).collect();
        let mut faults = Vec::new();
        let retryable = [
            Fault::Throttle,
            Fault::ServerError,
            Fault::Latency(Duration::from_millis(150)),
        ];
        // A tight deadline leaves 1.5 s: SDK backoff could eat it, so only faults whose effect
        // is certain go with it: none, or a GetDeployment slower than the whole budget.
        let tight_deadline = rng.chance(20);
        if tight_deadline {
            if !report_denied && rng.chance(25) {
                faults.push(Injected {
                    operation: Operation::GetDeployment,
                    fault: Fault::Latency(Duration::from_secs(2)),
                    times: 1,
                });
            }
        } else if rng.chance(35) {
            let fault = if !report_denied && rng.chance(20) {
                Fault::AccessDenied
            } else {
                rng.pick(&retryable)
            };
            let most = if report_denied { 3 } else { 5 };
            faults.push(Injected {
                operation: Operation::GetDeployment,
                fault,
                times: 1 + rng.below(most) as usize,
            });
        }
        // The hook's Lambda client makes one attempt per check attempt, so Invoke faults use up
        // attempts. They go only with one function (which check meets them is then certain) and
        // without a denied report (whose redelivery would find them used up).
        if !http && !tight_deadline && count == 1 && !report_denied && rng.chance(25) {
            let fault = if rng.chance(30) {
                Fault::AccessDenied
            } else {
                rng.pick(&[Fault::Throttle, Fault::ServerError])
            };
            faults.push(Injected {
                operation: Operation::Invoke,
                fault,
                times: 1 + rng.below(3) as usize,
            });
        }
        if report_denied {
            faults.push(Injected {
                operation: Operation::PutLifecycleEventHookExecutionStatus,
                fault: Fault::AccessDenied,
                times: 1,
            });
        } else if !tight_deadline && rng.chance(35) {
            faults.push(Injected {
                operation: Operation::PutLifecycleEventHookExecutionStatus,
                fault: rng.pick(&retryable),
                times: 1 + rng.below(3) as usize,
            });
        }
        Scenario {
            seed,
            http,
            targets,
            faults,
            tight_deadline,
            duplicate: rng.chance(25),
            legacy_string: !http && rng.chance(20),
        }
    }

    /// The verdict the injected faults imply.
    pub fn expected_status(&self) -> &'static str {
        let discovery_fails = self.faults.iter().any(|f| {
            f.operation == Operation::GetDeployment
                && match f.fault {
                    Fault::AccessDenied => true,
                    Fault::Throttle | Fault::ServerError => f.times >= SDK_ATTEMPTS,
                    // Two seconds of GetDeployment cannot fit in a tight deadline's 1.5 s.
                    Fault::Latency(delay) => self.tight_deadline && delay >= Duration::from_secs(2),
                }
        });
        let invoke_fault = self.faults.iter().find(|f| f.operation == Operation::Invoke);
        let all_pass = self.targets.iter().all(|target| match invoke_fault {
            None => target.passes(),
            // A denied invocation is not retried: the check fails at once.
            Some(Injected {
                fault: Fault::AccessDenied,
                ..
            }) => false,
            // Each faulted invocation uses up one of the check's attempts.
            Some(fault) => target
                .invocations_to_pass()
                .is_some_and(|needed| fault.times as u32 + needed <= ATTEMPTS),
        });
        if discovery_fails || !all_pass {
            "Failed"
        } else {
            "Succeeded"
        }
    }

    fn timeout(&self) -> Duration {
        if self.tight_deadline {
            TIGHT_TIMEOUT
        } else {
            NORMAL_TIMEOUT
        }
    }
}

fn draw_target(rng: &mut Rng, http: bool, stateless: bool) -> Target {
    let roll = rng.below(100);
    match roll {
        0..=44 => Target::Healthy,
        45..=54 => Target::Slow,
        55..=66 => Target::ServerError,
        67..=76 if !http => Target::FunctionError,
        67..=76 => Target::Reset,
        77..=86 => Target::Hang,
        _ if !http && !stateless => Target::WarmingUp(1 + rng.below(ATTEMPTS as u64 + 1) as u32),
        _ => Target::Healthy,
    }
}

/// What went wrong in one scenario, if anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub violations: Vec<String>,
    pub deliveries: usize,
}

/// Runs one scenario through `bootstrap`.
pub async fn run_scenario(bootstrap: &Path, scenario: &Scenario) -> std::io::Result<Outcome> {
    let aws = LocalAws::start().await?;
    let (spec, target, config) = stage(&aws, scenario).await?;
    let config: Vec<(&str, &str)> = config.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut hook = HookProcess::launch(bootstrap, &aws, &config)?;
    let deployment = aws.create_deployment(spec);
    for injected in &scenario.faults {
        aws.inject(injected.operation, injected.fault, injected.times);
    }

    let mut deliveries = Vec::new();
    // Lambda retries an asynchronous invocation that returned an error, up to twice.
    for _ in 0..3 {
        let delivered = aws.deliver(&deployment, scenario.timeout()).await;
        let failed = matches!(delivered.outcome, RuntimeOutcome::Error(_));
        deliveries.push(delivered);
        if !failed {
            break;
        }
    }
    if scenario.duplicate {
        deliveries.push(aws.deliver(&deployment, scenario.timeout()).await);
    }
    drop(target);

    let mut violations = Vec::new();
    let accepted: Vec<_> = aws
        .reports()
        .into_iter()
        .filter(|r| r.accepted && r.execution_id == deployment.execution_id)
        .collect();
    if accepted.len() != 1 {
        violations.push(format!("{} accepted reports, expected exactly one", accepted.len()));
    }
    if let Some(report) = accepted.first() {
        if report.status != scenario.expected_status() {
            violations.push(format!(
                "reported {}, expected {}",
                report.status,
                scenario.expected_status()
            ));
        }
        let in_time = deliveries
            .iter()
            .any(|d| report.at >= d.started && report.at < d.deadline);
        if !in_time {
            violations.push("the report came after the deadline of every delivery".into());
        }
    }
    if deliveries.iter().any(|d| d.outcome == RuntimeOutcome::TimedOut) {
        violations.push("a delivery was never answered (lost invocation)".into());
    }
    if !hook.is_running() {
        violations.push(format!("the hook process exited: {:?}", hook.lines().last()));
    }
    Ok(Outcome {
        violations,
        deliveries: deliveries.len(),
    })
}

/// Sets up targets for a scenario: functions or an HTTP listener, and the hook's configuration.
async fn stage(
    aws: &LocalAws,
    scenario: &Scenario,
) -> std::io::Result<(DeploymentSpec, Option<Listener>, Vec<(&'static str, String)>)> {
    let mut config: Vec<(&'static str, String)> = HOOK_CONFIG.iter().map(|(k, v)| (*k, v.to_string())).collect();
    if scenario.http {
        let paths: Vec<String> = (0..scenario.targets.len()).map(|n| format!("/check/{n}")).collect();
        let listener = if scenario.targets.contains(&Target::Reset) {
            Listener::Reset(ResetListener::start().await?)
        } else {
            let answers: Vec<(&str, Answer)> = paths
                .iter()
                .zip(&scenario.targets)
                .map(|(path, target)| (path.as_str(), http_answer(*target)))
                .collect();
            Listener::Http(HttpTarget::start(&answers).await?)
        };
        config.push(("ALB_URL", listener.host_port()));
        config.push(("CHECK_PATHS", paths.join(",")));
        let spec = DeploymentSpec::ecs(ECS_APPSPEC);
        return Ok((spec, Some(listener), config));
    }
    let names: Vec<String> = (0..scenario.targets.len()).map(|n| format!("fn-{n}")).collect();
    for (name, target) in names.iter().zip(&scenario.targets) {
        aws.add_function(name, "2", function_version(*target));
    }
    let functions: Vec<(&str, &str, &str)> = names.iter().map(|name| (name.as_str(), "1", "2")).collect();
    let mut spec = DeploymentSpec::lambda(lambda_appspec(&functions));
    if scenario.legacy_string {
        spec = spec.form(RevisionForm::String);
    }
    Ok((spec, None, config))
}

fn http_answer(target: Target) -> Answer {
    match target {
        Target::Healthy | Target::WarmingUp(_) => Answer::Status(200),
        Target::Slow => Answer::Slow(Duration::from_millis(100), 200),
        Target::Hang => Answer::Hang,
        Target::ServerError | Target::FunctionError | Target::Reset => Answer::Status(503),
    }
}

fn function_version(target: Target) -> FunctionVersion {
    let replying = FunctionVersion::replying;
    match target {
        Target::Healthy | Target::Reset => replying(Reply::Status(200)),
        Target::Slow => FunctionVersion {
            delay: Duration::from_millis(100),
            ..replying(Reply::Status(200))
        },
        Target::ServerError => replying(Reply::Status(500)),
        Target::FunctionError => replying(Reply::FunctionError("injected".into())),
        Target::Hang => replying(Reply::Hang),
        Target::WarmingUp(n) => FunctionVersion {
            fail_first: n,
            ..replying(Reply::Status(200))
        },
    }
}

/// The load balancer stand-in of an HTTP scenario.
enum Listener {
    Http(HttpTarget),
    Reset(ResetListener),
}

impl Listener {
    fn host_port(&self) -> String {
        match self {
            Listener::Http(target) => target.host_port(),
            Listener::Reset(listener) => listener.host_port(),
        }
    }
}

/// Accepts connections and closes them at once, unanswered: a target that resets.
struct ResetListener {
    addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl ResetListener {
    async fn start() -> std::io::Result<ResetListener> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                // Linger zero turns the close into a reset.
                let _ = stream.set_zero_linger();
                drop(stream);
            }
        });
        Ok(ResetListener { addr, task })
    }

    fn host_port(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for ResetListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Totals over a campaign.
#[derive(Debug, Default)]
pub struct Tally {
    pub deployments: usize,
    pub expected_failed: usize,
    pub deliveries: usize,
    pub faults_injected: usize,
    pub duplicates: usize,
    pub tight_deadlines: usize,
    pub failures: Vec<(Scenario, Vec<String>)>,
}

/// Runs `count` scenarios of `seed`, keeping `parallel` in flight.
pub async fn run_campaign(bootstrap: &Path, seed: u64, count: u64, parallel: usize) -> std::io::Result<Tally> {
    let mut tally = Tally::default();
    let mut pending = (0..count).map(|i| Scenario::draw(scenario_seed(seed, i)));
    let mut tasks = tokio::task::JoinSet::new();
    let spawn = |tasks: &mut tokio::task::JoinSet<_>, scenario: Scenario| {
        let bootstrap = bootstrap.to_path_buf();
        tasks.spawn(async move {
            let outcome = run_scenario(&bootstrap, &scenario).await;
            (scenario, outcome)
        });
    };
    for scenario in pending.by_ref().take(parallel.max(1)) {
        spawn(&mut tasks, scenario);
    }
    while let Some(joined) = tasks.join_next().await {
        if let Some(next) = pending.next() {
            spawn(&mut tasks, next);
        }
        let (scenario, outcome) = joined.map_err(std::io::Error::other)?;
        tally.add(scenario, outcome?);
    }
    Ok(tally)
}

impl Tally {
    fn add(&mut self, scenario: Scenario, outcome: Outcome) {
        self.deployments += 1;
        self.deliveries += outcome.deliveries;
        self.faults_injected += scenario.faults.len();
        self.duplicates += usize::from(scenario.duplicate);
        self.tight_deadlines += usize::from(scenario.tight_deadline);
        self.expected_failed += usize::from(scenario.expected_status() == "Failed");
        if !outcome.violations.is_empty() {
            self.failures.push((scenario, outcome.violations));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_scenario() {
        let a = Scenario::draw(42).to_string();
        let b = Scenario::draw(42).to_string();
        assert_eq!(a, b);
        assert_ne!(a, Scenario::draw(43).to_string());
    }

    #[test]
    fn the_model_fails_what_cannot_pass() {
        let mut scenario = Scenario::draw(1);
        scenario.targets = vec![Target::Healthy];
        scenario.faults.clear();
        scenario.tight_deadline = false;
        assert_eq!(scenario.expected_status(), "Succeeded");
        scenario.targets = vec![Target::Healthy, Target::WarmingUp(ATTEMPTS)];
        assert_eq!(scenario.expected_status(), "Failed");
        scenario.targets = vec![Target::WarmingUp(ATTEMPTS - 1)];
        assert_eq!(scenario.expected_status(), "Succeeded");
        scenario.faults = vec![Injected {
            operation: Operation::GetDeployment,
            fault: Fault::Throttle,
            times: SDK_ATTEMPTS,
        }];
        assert_eq!(scenario.expected_status(), "Failed");
        scenario.faults[0].times = SDK_ATTEMPTS - 1;
        assert_eq!(scenario.expected_status(), "Succeeded");
        // Invoke faults use up check attempts; a denied invocation fails at once.
        let invoke = |fault, times| Injected {
            operation: Operation::Invoke,
            fault,
            times,
        };
        scenario.targets = vec![Target::WarmingUp(1)];
        scenario.faults = vec![invoke(Fault::Throttle, 1)];
        assert_eq!(scenario.expected_status(), "Succeeded");
        scenario.faults = vec![invoke(Fault::Throttle, 2)];
        assert_eq!(scenario.expected_status(), "Failed");
        scenario.targets = vec![Target::Healthy];
        scenario.faults = vec![invoke(Fault::AccessDenied, 1)];
        assert_eq!(scenario.expected_status(), "Failed");
    }
}
