//! AWS for every flow: the SDK's set-up, one lazily built set of clients ([`AwsClients`]) that
//! the router owns and lends, the typed error of every call ([`error`]), and the calls with their
//! errors typed once: CodeDeploy's ([`codedeploy`]), ELBv2's ([`elb`]), ECS's ([`ecs`]), Lambda's
//! ([`lambda`]), CloudWatch's ([`cloudwatch`]) and EventBridge's ([`eventbridge`]).

#[cfg(test)]
pub(crate) mod canned;
pub(crate) mod cloudwatch;
pub(crate) mod codedeploy;
pub(crate) mod ecs;
pub(crate) mod elb;
pub(crate) mod error;
pub(crate) mod eventbridge;
pub(crate) mod lambda;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};

pub use error::{AwsError, Service};

use crate::plumbing::env::Lookup;

/// The clients every flow may need, each made on first use and then shared. Nothing is built
/// before the first event: the first Runtime API poll must not wait for TLS roots or
/// credentials. Tests hand in clients of their own with [`AwsClients::from_clients`].
pub struct AwsClients {
    sdk: tokio::sync::OnceCell<SdkConfig>,
    codedeploy: tokio::sync::OnceCell<aws_sdk_codedeploy::Client>,
    lambda: tokio::sync::OnceCell<aws_sdk_lambda::Client>,
    elb: tokio::sync::OnceCell<aws_sdk_elasticloadbalancingv2::Client>,
    ecs: tokio::sync::OnceCell<aws_sdk_ecs::Client>,
    cloudwatch: tokio::sync::OnceCell<aws_sdk_cloudwatch::Client>,
    eventbridge: tokio::sync::OnceCell<aws_sdk_eventbridge::Client>,
}

impl AwsClients {
    /// Clients configured from the environment (region, credentials, `AWS_ENDPOINT_URL`), when
    /// first asked for.
    pub fn from_env() -> AwsClients {
        AwsClients {
            sdk: tokio::sync::OnceCell::new(),
            codedeploy: tokio::sync::OnceCell::new(),
            lambda: tokio::sync::OnceCell::new(),
            elb: tokio::sync::OnceCell::new(),
            ecs: tokio::sync::OnceCell::new(),
            cloudwatch: tokio::sync::OnceCell::new(),
            eventbridge: tokio::sync::OnceCell::new(),
        }
    }

    /// Ready-made clients, such as the SDK's mock clients in tests.
    pub fn from_clients(
        codedeploy: aws_sdk_codedeploy::Client,
        lambda: aws_sdk_lambda::Client,
        elb: aws_sdk_elasticloadbalancingv2::Client,
    ) -> AwsClients {
        AwsClients {
            sdk: tokio::sync::OnceCell::new(),
            codedeploy: tokio::sync::OnceCell::new_with(Some(codedeploy)),
            lambda: tokio::sync::OnceCell::new_with(Some(lambda)),
            elb: tokio::sync::OnceCell::new_with(Some(elb)),
            ecs: tokio::sync::OnceCell::new(),
            cloudwatch: tokio::sync::OnceCell::new(),
            eventbridge: tokio::sync::OnceCell::new(),
        }
    }

    /// These clients with a ready-made ECS client too.
    pub fn with_ecs(self, ecs: aws_sdk_ecs::Client) -> AwsClients {
        AwsClients {
            ecs: tokio::sync::OnceCell::new_with(Some(ecs)),
            ..self
        }
    }

    /// These clients with a ready-made CloudWatch client too.
    pub fn with_cloudwatch(self, cloudwatch: aws_sdk_cloudwatch::Client) -> AwsClients {
        AwsClients {
            cloudwatch: tokio::sync::OnceCell::new_with(Some(cloudwatch)),
            ..self
        }
    }

    /// These clients with a ready-made EventBridge client too.
    pub fn with_eventbridge(self, eventbridge: aws_sdk_eventbridge::Client) -> AwsClients {
        AwsClients {
            eventbridge: tokio::sync::OnceCell::new_with(Some(eventbridge)),
            ..self
        }
    }

    async fn sdk(&self) -> &SdkConfig {
        self.sdk.get_or_init(load_sdk_config).await
    }

    pub async fn codedeploy(&self) -> &aws_sdk_codedeploy::Client {
        self.codedeploy
            .get_or_init(|| async { aws_sdk_codedeploy::Client::new(self.sdk().await) })
            .await
    }

    /// The Lambda client makes one attempt per call: the check runner decides about retries
    /// (`CHECK_ATTEMPTS`, `CHECK_INTERVAL_MS`), so that a throttled target is invoked at most
    /// `CHECK_ATTEMPTS` times per check rather than that many times the SDK's own attempts.
    pub async fn lambda(&self) -> &aws_sdk_lambda::Client {
        self.lambda
            .get_or_init(|| async {
                let config = lambda_config(aws_sdk_lambda::config::Builder::from(self.sdk().await));
                aws_sdk_lambda::Client::from_conf(config.build())
            })
            .await
    }

    pub async fn elb(&self) -> &aws_sdk_elasticloadbalancingv2::Client {
        self.elb
            .get_or_init(|| async { aws_sdk_elasticloadbalancingv2::Client::new(self.sdk().await) })
            .await
    }

    pub async fn ecs(&self) -> &aws_sdk_ecs::Client {
        self.ecs
            .get_or_init(|| async { aws_sdk_ecs::Client::new(self.sdk().await) })
            .await
    }

    /// Built only when a canary is first judged: a flow that judges nothing never pays for it.
    pub async fn cloudwatch(&self) -> &aws_sdk_cloudwatch::Client {
        self.cloudwatch
            .get_or_init(|| async { aws_sdk_cloudwatch::Client::new(self.sdk().await) })
            .await
    }

    /// Built only when a verdict is first announced: with `PREFLIGHT_EVENTS=off` never.
    pub async fn eventbridge(&self) -> &aws_sdk_eventbridge::Client {
        self.eventbridge
            .get_or_init(|| async { aws_sdk_eventbridge::Client::new(self.sdk().await) })
            .await
    }

    /// Whether the EventBridge client was built (for the tests that hold it unbuilt).
    #[cfg(test)]
    pub(crate) fn eventbridge_built(&self) -> bool {
        self.eventbridge.initialized()
    }
}

/// The Lambda client's own settings on top of the shared ones: one attempt per call.
pub(crate) fn lambda_config(builder: aws_sdk_lambda::config::Builder) -> aws_sdk_lambda::config::Builder {
    builder.retry_config(RetryConfig::disabled())
}

/// CodeDeploy and ELBv2 calls: throttling and 5xx retried, 4 attempts, starting at 200 ms.
pub(crate) fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(4)
        .with_initial_backoff(Duration::from_millis(200))
}

/// Loads region and credentials the usual way (and `AWS_ENDPOINT_URL`, which the rehearsal and
/// tests use). Throttling and 5xx are retried with a short backoff: the report must go out well
/// inside the deadline margin.
async fn load_sdk_config() -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(client) = https_client_with_bundle() {
        loader = loader.http_client(client);
    }
    loader
        .retry_config(retry_config())
        .timeout_config(TimeoutConfig::builder().connect_timeout(Duration::from_secs(3)).build())
        .load()
        .await
}

/// The SDK's HTTPS client, trusting the system's CA bundle file alone.
///
/// By default the SDK loads the system roots through `rustls-native-certs`, which reads the bundle
/// file *and* every file of the certificate directory: on Debian a second copy of the same roots,
/// some 280 files and 2 ms of start-up. Reading the one bundle is the same trust for a third of
/// the work. Explicit `SSL_CERT_DIR` settings are respected by falling back to the default.
fn https_client_with_bundle() -> Option<aws_sdk_codedeploy::config::SharedHttpClient> {
    let bundle = ca_bundle(&crate::plumbing::env::process_env, |path| path.is_file())?;
    let pem = std::fs::read(&bundle).ok()?;
    let trust = TrustStore::empty().with_native_roots(false).with_pem_certificate(pem);
    let tls = TlsContext::builder().with_trust_store(trust).build().ok()?;
    Some(
        aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(tls)
            .build_https(),
    )
}

/// The variables the TLS set-up reads: OpenSSL's conventions, honoured as the SDK would.
pub fn variables() -> BTreeSet<String> {
    crate::plumbing::env::names_asked_by(
        |get| {
            ca_bundle(get, |_| true);
        },
        &[&[]],
    )
}

/// The bundle to trust alone: none when `SSL_CERT_DIR` asks for a directory (the SDK's default
/// reads both), else `SSL_CERT_FILE`, else the first bundle that exists: Amazon Linux 2023
/// (Lambda's `provided.al2023`), then Debian and Ubuntu.
fn ca_bundle(get: &Lookup, exists: impl Fn(&Path) -> bool) -> Option<PathBuf> {
    if get("SSL_CERT_DIR").is_some() {
        return None;
    }
    if let Some(path) = get("SSL_CERT_FILE") {
        return Some(PathBuf::from(path));
    }
    ["/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| exists(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unset(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn ssl_cert_file_wins_and_ssl_cert_dir_keeps_the_default() {
        let file = |name: &str| (name == "SSL_CERT_FILE").then(|| "/custom/ca.pem".to_string());
        assert_eq!(ca_bundle(&file, |_| true), Some(PathBuf::from("/custom/ca.pem")));
        let dir = |name: &str| (name == "SSL_CERT_DIR").then(|| "/etc/ssl/certs".to_string());
        assert_eq!(ca_bundle(&dir, |_| true), None);
    }

    #[test]
    fn amazon_linux_bundle_comes_before_debian() {
        assert_eq!(
            ca_bundle(&unset, |_| true),
            Some(PathBuf::from("/etc/pki/tls/certs/ca-bundle.crt"))
        );
        let debian_only = |path: &Path| path.starts_with("/etc/ssl");
        assert_eq!(
            ca_bundle(&unset, debian_only),
            Some(PathBuf::from("/etc/ssl/certs/ca-certificates.crt"))
        );
        assert_eq!(ca_bundle(&unset, |_| false), None);
    }
}
