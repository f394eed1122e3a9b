//! A local AWS for preflight: rehearse deployments with no AWS account, and the test kit the
//! integration tests and the bench build with.
//!
//! [`LocalAws`] serves the CodeDeploy and Lambda calls the hook makes and the Lambda Runtime API
//! it polls; [`HookProcess`] runs the real `bootstrap` (or any Runtime API program) against it,
//! and a [`Rig`] is the two together; [`HttpTarget`] stands in for a load balancer's test
//! listener; [`MotoServer`] runs moto's ELBv2 for the maintenance page; [`installs`] puts the
//! locked Python and npm packages in place once; [`kit`] has the samples and builders.
//! [`scenario`], [`maintenance`] and [`campaign`] are what the `rehearse` binary runs.

pub mod campaign;
pub mod ecs_native;
pub mod hook_process;
pub mod http_target;
pub mod installs;
pub mod kit;
pub mod local_aws;
pub mod maintenance;
pub mod moto;
pub mod own_code;
pub mod rehearsed;
pub mod scenario;
mod server;

pub use hook_process::{HookProcess, Program};
pub use http_target::{Answer, HttpTarget};
pub use kit::Rig;
pub use local_aws::{
    Delivered, Deployment, DeploymentSpec, EcsService, Fault, FunctionVersion, InvocationRecord, LocalAws, Operation,
    OwnRuntime, Reply, ReportRecord, RevisionForm, RuntimeOutcome, TestRule,
};
pub use moto::{Alb, MotoServer};
