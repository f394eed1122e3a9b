//! preflight: one Lambda function that decides whether a deployment may shift traffic to a new
//! version, and keeps a maintenance page up while an EC2 deployment runs.
//!
//! # Layout
//!
//! This is the project's one code map (`ARCHITECTURE.md` states the invariants). One folder per
//! flow, the checks in their own, and the plumbing they share written once. Flows depend on
//! `checks` and `plumbing`, never on each other; `checks` depends only on `plumbing`.
//!
//! - `main.rs`: the `bootstrap` binary, a few lines wiring the [`router`] to `lambda_runtime`.
//!   `bin/preflight.rs`: the `preflight` command's parser and exit status; its work is
//!   [`command_line`].
//! - [`router`]: the Lambda handler. It builds what the flows share (the lazily built AWS
//!   clients, the one check set-up), sends each event to its flow and lends it the clients.
//! - [`checks`]: what every deciding flow shares. `deciding` is the skeleton a deciding flow runs
//!   on (configuration and emergency skip, the check run, the guarded evaluation ending in a
//!   verdict whatever happens, the verdict's metrics): a flow writes one `evaluate` with `?` on
//!   its typed errors, each of which becomes a verdict with its cause. Around it: `config` (the
//!   `CHECK_*` settings), `terms` (what `config` and `definitions` read alike), `definitions/`
//!   (`PREFLIGHT_CHECKS`: the `document` parser and the selection, pure), `plan` (which checks
//!   each target gets, pure), `http_event` (synthetic events), `probe` (one attempt: Invoke or
//!   HTTP), `judge` and `assertions` (each answer judged, pure), `expected_status`, `runner`
//!   (attempts, deadline, concurrency), `verdict` (status, cause, reason), `describe` (the checks
//!   as summary lines show them), `setup` (the configuration and probe the flows share), `skip`
//!   (`PREFLIGHT_SKIP_UNTIL`, `[skip preflight]`), `announce` (the verdict events: each verdict
//!   put on EventBridge once it went out, built pure for every flow; `PREFLIGHT_EVENTS`,
//!   `PREFLIGHT_EVENT_BUS`), and `canary/`: the judge of real traffic
//!   (`settings`, the `canary` key; `window`, which minutes a look reads; `metrics`, the series and
//!   queries; `statistics`, the exact test; `judge`, the rules, all pure; `traffic`, the paced
//!   bursts of synthetic requests a quiet canary asks for; and the looks themselves, once, baking
//!   until a decision, the bake time or the deadline, or over a split still running).
//! - [`codedeploy_hook`]: the CodeDeploy lifecycle hook: `payload` → what was deployed
//!   (`deployment`: GetDeployment, GetApplicationRevision; `appspec`; for ECS `test_listener`:
//!   GetDeploymentGroup, then ELBv2) → which event called (`lifecycle`: ListDeploymentTargets,
//!   BatchGetDeploymentTargets, pure reading) → the checks, or at `AfterAllowTraffic` the `canary`
//!   judge (a Lambda version or ECS task set's target group against the old one) → exactly one
//!   `report` → one `summary` line;
//!   `tests.rs` runs its decisions in process on canned AWS answers. And `live/`, the live judge
//!   on its schedule (`schedule`, the payload): the deployments in progress (ListDeployments), each
//!   Lambda canary in its `AllowTraffic` judged on the split so far, and `CanaryFailing` published
//!   per function (PutMetricData) for the deployment group's alarm; it reports nothing itself.
//! - [`ecs_hook`]: Amazon ECS's own lifecycle hooks: `payload` → `stage` (a rollback is never
//!   held up, pure) → `green` (its service revision's test listener rule: ECS, ELBv2) → the
//!   checks, sent as the `rule` routes them to green (pure) → `{"hookStatus": …}`, with `progress`
//!   carrying the attempts used across `IN_PROGRESS` calls (pure) → at the production traffic
//!   shift, `canary` (green's target group judged against blue's, step by step, `IN_PROGRESS`
//!   while minutes settle) → one `summary` line; `tests.rs` as above.
//! - [`maintenance`]: the maintenance page: `notification` (SNS, EventBridge) and `config`
//!   (pure) → `plan` (pure decisions) → `reconcile` (the executor) over `listener` (ELBv2 calls).
//! - [`command_line`]: the `preflight` command's work: the hook's configuration with the
//!   command's choices on top, `check` (run, print, exit code), `explain` (pure) and `judge` (the
//!   canary judge on a past or running deployment, deciding nothing).
//! - [`plumbing`]: `aws` (SDK set-up, the lazily built clients, the typed `AwsError` and its
//!   retry classification, the CodeDeploy, ECS, ELBv2 and CloudWatch reads the flows share,
//!   EventBridge's PutEvents, canned answers for tests), `env` (reading variables, `ConfigError`), `deadline` (and work guarded by it),
//!   `metrics` (Embedded Metric Format records, and `PUBLISHED`: every metric preflight publishes,
//!   which the tests hold the records, the template's dashboard and the docs' alarms against),
//!   `logging` (JSON), `text`.
//!
//! Around the crate: `stand-in/` (the local AWS stand-in and the test kit that `tests/` and
//! `bench/` use), `rehearsal/` (the `rehearse` tool), `bench/` (the benchmark driver, the
//! `lambda_runtime` floor and the Python/boto3 peer), `tests/` (process-level, property,
//! framework, docs and template tests), `events/` (sample payloads), `template.yaml`, and
//! `.ci/run` (CI, the one definition). `build.rs` links `bootstrap` non-PIE (see the
//! benchmarks in `CONTRIBUTING.md`).

// Input from outside (payloads, AppSpecs, environment, HTTP, AWS) must never panic the function:
// the library has no unwrap, expect or panic outside its tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
// What nothing outside the crate uses is `pub(crate)`, so that the compiler finds what is unused.
#![warn(unreachable_pub)]

pub mod checks;
pub mod codedeploy_hook;
pub mod command_line;
pub mod ecs_hook;
pub mod maintenance;
pub mod plumbing;
pub mod router;

pub use router::Preflight;
