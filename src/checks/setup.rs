//! What every flow that runs checks shares across invocations: the check configuration, read once
//! at start-up (or why it could not be read), and the probe, made by the first invocation that
//! needs it (it may hold an HTTPS client, whose set-up must not delay the first poll of the
//! Runtime API).

use std::sync::Arc;
use std::time::Duration;

use super::config::Config;
use super::probe::Probe;
use crate::plumbing::aws::AwsClients;
use crate::plumbing::env::ConfigError;

/// The margin kept before the Lambda deadline when the configuration (which sets it) is bad.
const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_secs(3);

pub struct CheckSetup {
    config: Result<Config, ConfigError>,
    probe: tokio::sync::OnceCell<Result<Arc<Probe>, String>>,
}

impl CheckSetup {
    /// Reads the configuration from the environment. Never fails: a bad configuration is kept,
    /// and every invocation that needs it fails its verdict with the error.
    pub fn from_env() -> CheckSetup {
        CheckSetup::new(Config::from_env())
    }

    /// A set-up with this configuration (or configuration error), logged once when it is bad.
    pub fn new(config: Result<Config, ConfigError>) -> CheckSetup {
        if let Err(error) = &config {
            tracing::error!(variable = error.variable, "{error}");
        }
        CheckSetup {
            config,
            probe: tokio::sync::OnceCell::new(),
        }
    }

    pub fn config(&self) -> Result<&Config, &ConfigError> {
        self.config.as_ref()
    }

    /// How long before the Lambda deadline the checks must have ended.
    pub fn deadline_margin(&self) -> Duration {
        self.config
            .as_ref()
            .map_or(DEFAULT_DEADLINE_MARGIN, |config| config.deadline_margin)
    }

    /// The probe, made on first use with the configuration's HTTP settings.
    pub async fn probe(&self, config: &Config, clients: &AwsClients) -> Result<Arc<Probe>, String> {
        self.probe
            .get_or_init(|| async { Probe::new(config, clients.lambda().await.clone()).map(Arc::new) })
            .await
            .clone()
    }
}
