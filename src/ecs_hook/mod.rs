//! Amazon ECS's own lifecycle hooks (ECS-native blue/green, linear and canary deployments), whose
//! verdict is the function's return value (`hookStatus`) rather than a CodeDeploy report.
//!
//! Work in progress (issue 12, part B): the pure parts are here and tested: the payload
//! ([`payload`]), what each stage asks ([`stage`]: a rollback is never held up), and what green's
//! test listener rule asks of a request ([`rule`]). The router does not send ECS payloads here
//! yet: until the checks can run through the rule, an ECS hook call is not answered by preflight.

pub mod payload;
pub mod rule;
pub mod stage;
