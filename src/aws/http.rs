//! The HTTP client of every AWS call: the SDK's default HTTPS client (hyper
//! 1, rustls with aws-lc, proxy settings from the environment), with one
//! change: a connection that is refused, or a host name that does not
//! resolve, fails the call at once instead of being retried.
//!
//! The SDK's standard retry mode treats every I/O error of a connection as
//! transient and tries a call eight times with growing back-off: against an
//! endpoint where nothing listens (a mistyped `AWS_ENDPOINT_URL`, a proxy
//! that is down) or a host that does not exist, that is a minute or two of
//! waiting for an answer that cannot come. Waiting cannot help either, so
//! such errors are reported as not retryable; timeouts, resets and every
//! other transient error keep the SDK's retries (docs/scale.md).

use std::error::Error as StdError;
use std::fmt;

use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, ConnectorBuilder};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// The HTTP client c3 gives the SDK.
pub fn client() -> SharedHttpClient {
    let inner = Builder::new().build_with_connector_fn(|settings, components| {
        let mut builder =
            ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
        builder.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            builder.set_sleep_impl(components.sleep_impl());
        }
        builder.set_proxy_config(Some(ProxyConfig::from_env()));
        builder.build()
    });
    SharedHttpClient::new(FailFast { inner })
}

/// Why a connection could not be made, when waiting cannot help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreachable {
    /// Nothing listens at the address (connection refused).
    Refused,
    /// The host name does not resolve.
    UnknownHost,
}

impl Unreachable {
    /// Whether an error, or any of its sources, is a refused connection or a
    /// name that does not resolve.
    pub fn of(err: &(dyn StdError + 'static)) -> Option<Self> {
        let mut current = Some(err);
        while let Some(e) = current {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::ConnectionRefused {
                    return Some(Self::Refused);
                }
            }
            let text = e.to_string().to_ascii_lowercase();
            if text.contains("connection refused") {
                return Some(Self::Refused);
            }
            if text.contains("dns error")
                || text.contains("failed to lookup address")
                || text.contains("name or service not known")
                || text.contains("no such host")
                || text.contains("nodename nor servname")
            {
                return Some(Self::UnknownHost);
            }
            current = e.source();
        }
        None
    }
}

/// A connection error that is not worth retrying (see [`Unreachable`]).
#[derive(Debug)]
struct NotRetried {
    why: Unreachable,
    source: ConnectorError,
}

impl fmt::Display for NotRetried {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.why {
            Unreachable::Refused => f.write_str("connection refused (not retried)"),
            Unreachable::UnknownHost => f.write_str("unknown host (not retried)"),
        }
    }
}

impl StdError for NotRetried {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.source)
    }
}

#[derive(Debug)]
struct FailFast {
    inner: SharedHttpClient,
}

impl HttpClient for FailFast {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(FailFastConnector {
            inner: self.inner.http_connector(settings, components),
        })
    }
}

#[derive(Debug)]
struct FailFastConnector {
    inner: SharedHttpConnector,
}

impl HttpConnector for FailFastConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let call = self.inner.call(request);
        HttpConnectorFuture::new(async move {
            call.await.map_err(|e| match Unreachable::of(&e) {
                // `other` without an error kind: the SDK's classifiers retry
                // I/O errors and timeouts, not this.
                Some(why) => ConnectorError::other(Box::new(NotRetried { why, source: e }), None),
                None => e,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_and_unknown_hosts_are_recognised_through_the_chain() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(Unreachable::of(&refused), Some(Unreachable::Refused));
        let wrapped = ConnectorError::io(Box::new(refused));
        assert_eq!(Unreachable::of(&wrapped), Some(Unreachable::Refused));
        let dns = std::io::Error::other("dns error: failed to lookup address information");
        assert_eq!(Unreachable::of(&dns), Some(Unreachable::UnknownHost));
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(Unreachable::of(&reset), None);
    }
}
