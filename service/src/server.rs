//! The listener: accepts connections (TLS through rustls when a certificate
//! is configured), bounds them per client address, serves HTTP/1.1 with
//! hyper (header size and header read time bounded, so a slow client cannot
//! hold a connection), and shuts down gracefully: on the shutdown signal it
//! stops accepting, lets every in-flight request finish up to the grace
//! period, then returns.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
pub use tokio_rustls::TlsAcceptor;

use crate::config::ConfigError;
use crate::Service;

/// The TLS acceptor of a PEM certificate chain and its PEM private key.
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, ConfigError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |at: &Path, message: String| ConfigError {
        at: at.display().to_string(),
        message,
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| bad(cert, format!("not a PEM certificate chain ({e})")))?;
    // The key's error never quotes the file: it is a secret.
    let private =
        PrivateKeyDer::from_pem_file(key).map_err(|_| bad(key, "not a PEM private key".into()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, private)
        .map_err(|e| {
            bad(
                cert,
                format!("the certificate and key do not go together ({e})"),
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Open connections by client address.
#[derive(Default)]
struct Clients {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One open connection of a client; gives its place back when dropped.
struct Slot {
    clients: Arc<Clients>,
    ip: IpAddr,
}

impl Clients {
    fn take(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<Slot> {
        let mut open = self.open.lock().unwrap();
        let count = open.entry(ip).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Slot {
            clients: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.clients.open.lock().unwrap();
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// How serving ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Every in-flight request finished within the grace period.
    Complete,
    /// The grace period ran out with requests still in flight.
    GraceExpired,
}

/// Serves `service` on `listener` until `shutdown` completes, then drains.
pub async fn serve(
    service: Service,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) -> Drained {
    let limits = service.server_limits().clone();
    let router = service.router();
    let graceful = GracefulShutdown::new();
    let clients = Arc::<Clients>::default();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off rather
                    // than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Some(slot) = clients.take(peer.ip(), limits.max_connections_per_client) else {
            tracing::warn!(client = %peer.ip(), "connection refused: too many from this client");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout())
            .max_buf_size(limits.max_header_bytes)
            .keep_alive(true);
        let hyper_service = TowerToHyperService::new(router.clone());
        let watcher = graceful.watcher();
        let acceptor = tls.clone();
        let handshake_timeout = limits.header_read_timeout();
        tokio::spawn(async move {
            let _slot = slot;
            let served = match acceptor {
                None => {
                    let conn = builder.serve_connection(TokioIo::new(stream), hyper_service);
                    watcher.watch(conn).await
                }
                Some(acceptor) => {
                    // The handshake is bounded like the headers are.
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await
                    else {
                        tracing::debug!(client = %peer.ip(), "TLS handshake failed or timed out");
                        return;
                    };
                    let conn = builder.serve_connection(TokioIo::new(stream), hyper_service);
                    watcher.watch(conn).await
                }
            };
            if let Err(e) = served {
                tracing::debug!(client = %peer.ip(), error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: no new connections; finishing in-flight requests");
    tokio::select! {
        _ = graceful.shutdown() => Drained::Complete,
        _ = tokio::time::sleep(limits.shutdown_grace()) => Drained::GraceExpired,
    }
}
