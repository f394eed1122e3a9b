//! preflight: a CodeDeploy lifecycle hook that finds the new version, checks it, and reports
//! `Succeeded` or `Failed` exactly once, before its own deadline, whatever fails.
//!
//! The modules follow the hook's path: [`event`] (the payload) → [`deployment`] and [`appspec`]
//! (what was deployed) → [`checks`] (what to poke, how, how patiently) → [`verdict`] →
//! [`report`] → [`summary`]. [`hook`] strings them together; [`config`] says how they behave.
//!
//! The same binary keeps a maintenance page up while a deployment runs: [`notification`] reads
//! CodeDeploy's SNS and EventBridge notifications, [`maintenance`] puts an ALB listener rule up
//! and takes it down. [`handler`] sends each event to the side it belongs to.

pub mod appspec;
pub mod aws;
pub mod checks;
pub mod config;
pub mod deployment;
pub mod event;
pub mod handler;
pub mod hook;
pub mod logging;
pub mod maintenance;
pub mod notification;
pub mod report;
pub mod status;
pub mod summary;
pub mod verdict;

pub use handler::Preflight;
pub use hook::Hook;
