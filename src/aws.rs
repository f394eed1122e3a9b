//! AWS SDK set-up shared by every call, and error messages people can act on.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_codedeploy::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};

/// Loads region and credentials the usual way (and `AWS_ENDPOINT_URL`, which the rehearsal and
/// tests use). Throttling and 5xx are retried with a short backoff: the report must go out well
/// inside the deadline margin.
pub async fn load_sdk_config() -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(client) = https_client_with_bundle() {
        loader = loader.http_client(client);
    }
    loader
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(4)
                .with_initial_backoff(Duration::from_millis(200)),
        )
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
    let bundle = ca_bundle_path(std::env::var_os("SSL_CERT_FILE").map(PathBuf::from), |path| {
        path.is_file()
    })?;
    if std::env::var_os("SSL_CERT_DIR").is_some() {
        return None;
    }
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

/// `SSL_CERT_FILE`, else the first bundle that exists: Amazon Linux 2023 (Lambda's
/// `provided.al2023`), then Debian and Ubuntu.
fn ca_bundle_path(ssl_cert_file: Option<PathBuf>, exists: impl Fn(&Path) -> bool) -> Option<PathBuf> {
    if let Some(path) = ssl_cert_file {
        return Some(path);
    }
    ["/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| exists(path))
}

/// `GetDeployment failed: AccessDeniedException: User … is not authorized …`.
pub fn describe_sdk_error<E, R>(operation: &str, error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let detail = match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => DisplayErrorContext(error).to_string(),
    };
    format!("{operation} failed: {}", crate::checks::judge::truncate(&detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_cert_file_wins() {
        let chosen = ca_bundle_path(Some("/custom/ca.pem".into()), |_| true);
        assert_eq!(chosen, Some(PathBuf::from("/custom/ca.pem")));
    }

    #[test]
    fn amazon_linux_bundle_comes_before_debian() {
        assert_eq!(
            ca_bundle_path(None, |_| true),
            Some(PathBuf::from("/etc/pki/tls/certs/ca-bundle.crt"))
        );
        let debian_only = |path: &Path| path.starts_with("/etc/ssl");
        assert_eq!(
            ca_bundle_path(None, debian_only),
            Some(PathBuf::from("/etc/ssl/certs/ca-certificates.crt"))
        );
        assert_eq!(ca_bundle_path(None, |_| false), None);
    }
}
