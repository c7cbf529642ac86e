//! The service's logs: JSON lines, one object per event, each with the
//! list of spans it happened in (the request's span holds the request id,
//! the trace id of `traceparent`, the key's name and, for an invocation,
//! its tenant, connector and capability). `connector-host serve` installs
//! this subscriber on stderr; the benchmark installs it on a sink, so its
//! figures carry a production deployment's logging cost.

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// The level when `RUST_LOG` does not say: a request's line is at debug
/// when it succeeded, info when it was refused, warn when it failed.
pub const DEFAULT_FILTER: &str = "info";

/// The JSON subscriber writing to `writer`, filtered by `RUST_LOG` (or
/// [`DEFAULT_FILTER`]).
pub fn json_subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // The span list ends with the current span and holds the request's
    // span above anything nested in it.
    tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .with_span_list(true)
        .with_env_filter(filter)
        .with_writer(writer)
        .finish()
}
