//! The `rehearse` tool's rehearsals: preflight deployments played against the AWS stand-in
//! (`preflight-stand-in`) with the real `bootstrap`, told as stories a user reads.
//!
//! # Layout
//!
//! - [`rehearsed`]: what one rehearsed deployment tells, and a summary line's story lines.
//! - [`canary`]: Lambda canaries, checked before traffic moves and judged on their real traffic
//!   after it.
//! - [`live`]: a Lambda canary stopped while its alias is split (the live judge, its metric and
//!   the deployment group's alarm), with the time from its first errors to its rollback.
//! - [`ecs_native`]: ECS-native blue/green releases (ECS's own lifecycle hooks, no CodeDeploy),
//!   and a canary step judged on green's real traffic.
//! - [`scenario`]: the built-in deployments `rehearse` runs without a mode.
//! - [`own_code`]: rehearsals with the user's own code (`--function`, `--url`).
//! - [`maintenance`]: the maintenance page against moto's ELBv2 (`--maintenance`).
//! - [`campaign`]: the fault campaign (`--campaign`, `--replay`).
//!
//! `main.rs` is the command line over these.

pub mod campaign;
pub mod canary;
pub mod ecs_native;
pub mod live;
pub mod maintenance;
pub mod own_code;
pub mod rehearsed;
pub mod scenario;
