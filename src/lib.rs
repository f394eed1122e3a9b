//! preflight: a CodeDeploy lifecycle hook that finds the new version, checks it, and reports
//! `Succeeded` or `Failed` exactly once, before its own deadline, whatever fails.
//!
//! The modules follow the hook's path: [`event`] (the payload) → [`deployment`] and [`appspec`]
//! (what was deployed) → [`checks`] (what to poke, how, how patiently) → [`verdict`] →
//! [`report`] → [`summary`]. [`hook`] strings them together; [`config`] says how they behave.

pub mod appspec;
pub mod aws;
pub mod checks;
pub mod config;
pub mod deployment;
pub mod event;
pub mod hook;
pub mod logging;
pub mod report;
pub mod status;
pub mod summary;
pub mod verdict;

pub use hook::Hook;
