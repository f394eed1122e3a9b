//! A local AWS for preflight, and the kit its integration tests, bench and rehearsal build with.
//!
//! [`LocalAws`] serves the CodeDeploy, Lambda, ECS, ELBv2, CloudWatch and EventBridge calls the
//! hook makes and the Lambda Runtime API it polls, and simulates past minutes of production
//! traffic for the canary judge to read back; [`HookProcess`] runs the real `bootstrap` (or any Runtime API program)
//! against it, and a [`Rig`] is the two together; [`HttpTarget`] stands in for a load balancer's
//! test listener; [`MotoServer`] runs moto's ELBv2 for the maintenance page; [`installs`] puts
//! the locked Python and npm packages in place once; [`kit`] has the paths, samples and builders.
//!
//! # Layout
//!
//! From the ground up; each layer imports only from the layers under it.
//!
//! - Ground helpers, which know nothing of AWS: `server` (a loopback HTTP server that ends its
//!   connections when dropped), [`kit`] (the workspace's paths, sample events, AppSpecs, an ELBv2
//!   client), [`installs`] (locked Python and npm packages), [`moto`] (moto's ELBv2 server) and
//!   [`http_target`] (a test listener's target, answering by path).
//! - The stand-in's model, `local_aws/model.rs`: plain data (operations and faults, deployments
//!   with their targets, lifecycle, alarms and what became of them, function versions and their
//!   replies, records of reports, invocations and published metrics, traffic summaries, metric
//!   alarms, listeners, ECS services); `local_aws/records.rs`, what the stand-in keeps while it
//!   runs (with the aliases' routing); and `local_aws/metrics.rs`, the CloudWatch series
//!   published and their statistics.
//! - The stand-in's facade, [`local_aws`]: [`LocalAws`] and the HTTP handlers per service
//!   (`codedeploy`, `lambda`, `runtime_api`, `ecs`, `elb`, `cloudwatch`, `eventbridge`, with
//!   `alarms` (the CloudWatch alarms, which CodeDeploy honours), `faults` and `aws_json`).
//! - On top: [`hook_process`] (a function process polling a [`LocalAws`]) and [`rig`] (the
//!   stand-in and a hook process together).

pub mod fixtures;
pub mod hook_process;
pub mod http_target;
pub mod installs;
pub mod kit;
pub mod local_aws;
pub mod moto;
pub mod rig;
mod server;

pub use hook_process::{HookProcess, Program};
pub use http_target::{Answer, HttpTarget};
pub use local_aws::{
    AlarmConfiguration, AlarmState, AlarmStateValue, AutoRollback, Delivered, Deployment, DeploymentSpec,
    DeploymentState, DeploymentTarget, EcsService, EcsTarget, ErrorInformation, Fault, FunctionVersion,
    InvocationRecord, LambdaTarget, Lifecycle, LocalAws, MetricAlarm, MetricDataRecord, MetricDatumRecord, Operation,
    OwnRuntime, Reply, ReportRecord, RevisionForm, RollbackInfo, RuntimeOutcome, TargetGroupRequests,
    TargetGroupTraffic, TestRule, TrafficSummary, VersionTraffic,
};
pub use moto::{Alb, MotoServer};
pub use rig::Rig;
