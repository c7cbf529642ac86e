//! A response body on its way to the guest: bounded in size and time,
//! scrubbed of the tenant's credentials, and, when it fails, recorded in
//! the invocation's report with the real cause.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame};
use wasmtime_wasi_http::Error as HttpError;

use super::{OutboundReport, TransportFailure};
use crate::deadline::Deadline;
use crate::error::Limit;
use crate::scrub::StreamScrubber;

/// A response body with a between-bytes timeout, a total deadline, a size
/// cap and the credential scrubber. Trailers are dropped: connectors read
/// none, so they could only carry echoes.
pub(super) struct GuardedBody {
    pub inner: hyper::body::Incoming,
    pub idle: Deadline,
    pub idle_timeout: Duration,
    pub total: Deadline,
    pub request_timeout: Duration,
    pub remaining: usize,
    pub received: u64,
    /// `Content-Length`, when the server declared one.
    pub expected: Option<u64>,
    pub scrubber: StreamScrubber,
    pub flushed: bool,
    pub report: Arc<Mutex<OutboundReport>>,
}

impl GuardedBody {
    /// Records why the body failed and hands the guest the matching code.
    fn fail(&self, failure: TransportFailure) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let error = failure.to_http_error();
        let mut report = self.report.lock().unwrap();
        report.transport.get_or_insert(failure);
        Poll::Ready(Some(Err(error)))
    }

    fn cut_off(&self) -> String {
        match self.expected {
            Some(expected) => format!(
                "the response body was truncated: the connection closed after {} of {expected} bytes",
                self.received
            ),
            None => format!(
                "the response body was truncated: the connection closed after {} bytes",
                self.received
            ),
        }
    }
}

impl Body for GuardedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        loop {
            match Pin::new(&mut self.inner).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    if data.len() > self.remaining {
                        let detail = "response body exceeds the configured cap".to_owned();
                        self.report
                            .lock()
                            .unwrap()
                            .limit
                            .get_or_insert((Limit::ResponseSize, detail));
                        return Poll::Ready(Some(Err(HttpError::HttpResponseBodySize(None))));
                    }
                    self.remaining -= data.len();
                    self.received += data.len() as u64;
                    let deadline = std::time::Instant::now() + self.idle_timeout;
                    self.idle.reset(deadline);
                    let out = self.scrubber.push(&data);
                    if !out.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(out))));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    let failure = if e.is_incomplete_message() {
                        TransportFailure::incomplete(self.cut_off())
                    } else {
                        TransportFailure::protocol(format!(
                            "the response body could not be read after {} bytes: {e}",
                            self.received
                        ))
                    };
                    return self.fail(failure);
                }
                Poll::Ready(None) => {
                    if self.expected.is_some_and(|n| n != self.received) {
                        return self.fail(TransportFailure::incomplete(self.cut_off()));
                    }
                    if !self.flushed {
                        self.flushed = true;
                        let rest = self.scrubber.finish();
                        if !rest.is_empty() {
                            return Poll::Ready(Some(Ok(Frame::data(rest))));
                        }
                    }
                    return Poll::Ready(None);
                }
                Poll::Pending => {
                    if self.total.poll_passed(cx) {
                        let message = format!(
                            "the request did not complete within requestTimeoutMs ({} ms); \
                             {} body bytes had arrived",
                            self.request_timeout.as_millis(),
                            self.received
                        );
                        return self.fail(TransportFailure::timeout(message));
                    }
                    if self.idle.poll_passed(cx) {
                        let message = format!(
                            "the response body paused for longer than betweenBytesTimeoutMs \
                             ({} ms) after {} bytes",
                            self.idle_timeout.as_millis(),
                            self.received
                        );
                        return self.fail(TransportFailure::timeout(message));
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}
