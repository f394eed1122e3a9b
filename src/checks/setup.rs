//! What every flow that runs checks shares across invocations: the check configuration and the
//! verdict events' settings, read once at start-up (or why they could not be read), and the
//! probe, made by the first invocation that needs it (it may hold an HTTPS client, whose set-up
//! must not delay the first poll of the Runtime API).

use std::sync::Arc;
use std::time::Duration;

use super::announce::EventSettings;
use super::config::Config;
use super::probe::Probe;
use crate::plumbing::aws::AwsClients;
use crate::plumbing::env::ConfigError;

/// The margin kept before the Lambda deadline when the configuration (which sets it) is bad.
const DEFAULT_DEADLINE_MARGIN: Duration = Duration::from_secs(3);

pub struct CheckSetup {
    config: Result<Config, ConfigError>,
    /// Where verdicts are announced: what the variables say, or when they cannot be read the
    /// default (on, the default bus), so that the failed verdicts that follow are still told.
    events: EventSettings,
    /// Why the verdict events' variables could not be read: then every verdict fails with it.
    events_error: Option<ConfigError>,
    probe: tokio::sync::OnceCell<Result<Arc<Probe>, String>>,
}

impl CheckSetup {
    /// Reads the configuration and the verdict events' settings from the environment. Never
    /// fails: a bad configuration is kept, and every invocation that needs it fails its verdict
    /// with the error.
    pub fn from_env() -> CheckSetup {
        CheckSetup::new(Config::from_env()).with_events(EventSettings::from_env())
    }

    /// A set-up with this configuration (or configuration error), logged once when it is bad,
    /// announcing nothing (tests and tools decide nobody's deployment; see
    /// [`CheckSetup::with_events`]).
    pub fn new(config: Result<Config, ConfigError>) -> CheckSetup {
        if let Err(error) = &config {
            tracing::error!(variable = error.variable, "{error}");
        }
        CheckSetup {
            config,
            events: EventSettings::off(),
            events_error: None,
            probe: tokio::sync::OnceCell::new(),
        }
    }

    /// This set-up announcing its verdicts as `events` say; a bad setting is logged once, and
    /// fails every verdict that needs the configuration.
    pub fn with_events(self, events: Result<EventSettings, ConfigError>) -> CheckSetup {
        let (events, events_error) = match events {
            Ok(events) => (events, None),
            Err(error) => {
                tracing::error!(variable = error.variable, "{error}");
                (EventSettings::default(), Some(error))
            }
        };
        CheckSetup {
            events,
            events_error,
            ..self
        }
    }

    /// The configuration, or why it, or the verdict events' settings, cannot be used.
    pub fn config(&self) -> Result<&Config, &ConfigError> {
        let config = self.config.as_ref()?;
        match &self.events_error {
            Some(error) => Err(error),
            None => Ok(config),
        }
    }

    /// Whether and where verdicts are announced.
    pub fn events(&self) -> &EventSettings {
        &self.events
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
