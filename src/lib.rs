//! preflight: one Lambda function that decides whether a deployment may shift traffic to a new
//! version, and keeps a maintenance page up while an EC2 deployment runs.
//!
//! # Layout
//!
//! One folder per flow, the checks in their own, and the plumbing they share written once:
//!
//! - [`router`]: the Lambda handler. It sends each event to its flow and lends it the AWS clients.
//! - [`codedeploy_hook`]: the CodeDeploy lifecycle hook: payload → what was deployed (GetDeployment,
//!   GetApplicationRevision, the AppSpec; for ECS the test listener, from GetDeploymentGroup and
//!   ELBv2) → the checks → exactly one report → one summary line.
//! - [`ecs_hook`]: Amazon ECS's own lifecycle hooks: payload → the stage (a rollback is never held
//!   up) → green, from its service revision's test listener rule (ECS, ELBv2) → the checks, sent
//!   as the rule routes them to green → `{"hookStatus": …}` (`IN_PROGRESS` carrying the attempts
//!   used when the checks outlast the invocation) → one summary line.
//! - [`maintenance`]: the maintenance page: CodeDeploy notifications (SNS, EventBridge) → a plan
//!   for the ALB listener's rules (pure) → the ELBv2 calls that carry it out.
//! - [`checks`]: what every deciding flow shares: the check settings and the per-target check
//!   definitions (`PREFLIGHT_CHECKS`), synthetic events, one attempt (Invoke or HTTP), judging the
//!   answer against its assertions, the patient runner, the verdict, the emergency skip.
//! - [`command_line`]: the `preflight` command's work (its parser lives with the binary): the
//!   hook's checks run from a developer's machine against a deployed version or a URL, and
//!   `explain`, which shows what they would send.
//! - [`plumbing`]: AWS set-up, the lazily built clients and the typed AWS error; environment
//!   reading; deadlines; log text; JSON logging.
//!
//! Flows depend on `checks` and `plumbing`, never on each other; `checks` depends only on
//! `plumbing`. The two hooks share one check set-up ([`checks::setup`]).

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
