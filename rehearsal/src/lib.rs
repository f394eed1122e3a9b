//! A local CodeDeploy for preflight: rehearse deployments with no AWS account.
//!
//! [`LocalAws`] serves the CodeDeploy and Lambda calls the hook makes and the Lambda Runtime API
//! it polls; [`HookProcess`] runs the real `bootstrap` against it; [`HttpTarget`] stands in for
//! a load balancer's test listener; [`scenario`] holds the built-in rehearsals that the
//! `rehearse` binary prints. [`MotoServer`] runs moto's ELBv2 for the maintenance page. The
//! integration tests drive the same pieces.

pub mod campaign;
pub mod hook_process;
pub mod http_target;
pub mod local_aws;
pub mod maintenance;
pub mod measure;
pub mod moto;
pub mod scenario;
mod server;

pub use hook_process::{HookProcess, Program};
pub use http_target::{Answer, HttpTarget};
pub use local_aws::{
    Delivered, Deployment, DeploymentSpec, Fault, FunctionVersion, InvocationRecord, LocalAws, Operation, Reply,
    ReportRecord, RevisionForm, RuntimeOutcome,
};
pub use moto::{Alb, MotoServer};
