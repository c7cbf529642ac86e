//! Per-invocation and per-tenant limits, with the defaults README.md lists.

use std::time::Duration;

use serde::Deserialize;

use crate::error::Error;
use crate::outbound::HttpLimits;

/// What one invocation, and one tenant, may use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Linear memory one instance may grow to (at most the runtime's pool slot size).
    pub memory_bytes: usize,
    /// Guest CPU time, counted in epoch ticks of [`crate::EPOCH_TICK`].
    pub cpu_time: Duration,
    /// Wall-clock time for the whole invocation, I/O and retries included.
    pub wall_time: Duration,
    /// Largest input JSON.
    pub max_input_bytes: usize,
    /// Largest output JSON.
    pub max_output_bytes: usize,
    /// Invocations of one tenant running at once.
    pub max_concurrent: usize,
    /// Invocations of one tenant waiting for a slot; more are refused.
    pub max_queued: usize,
    /// HTTP limits.
    pub http: HttpLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            cpu_time: Duration::from_secs(2),
            wall_time: Duration::from_secs(30),
            max_input_bytes: 256 << 10,
            max_output_bytes: 4 << 20,
            max_concurrent: 32,
            max_queued: 256,
            http: HttpLimits::default(),
        }
    }
}

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const MINUTE_MS: u64 = 60_000;

impl Limits {
    /// Checks every limit against its documented range (README, "Tenants
    /// and limits"). Out-of-range values would otherwise overflow a clock
    /// (`Instant + Duration`) or a semaphore, or make the tenant unusable.
    /// The error names the tenants-file key, e.g. `limits.maxConcurrent`.
    pub fn validate(&self) -> Result<(), Error> {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let h = &self.http;
        let checks: [(&str, u64, u64, u64); 15] = [
            ("memoryBytes", self.memory_bytes as u64, MIB, 4096 * MIB),
            ("cpuTimeMs", ms(self.cpu_time), 10, 10 * MINUTE_MS),
            ("wallTimeMs", ms(self.wall_time), 1, 60 * MINUTE_MS),
            ("maxInputBytes", self.max_input_bytes as u64, 1, 64 * MIB),
            // An error must always fit in the output bound (see Error::bounded).
            (
                "maxOutputBytes",
                self.max_output_bytes as u64,
                KIB,
                64 * MIB,
            ),
            ("maxConcurrent", self.max_concurrent as u64, 1, 10_000),
            ("maxQueued", self.max_queued as u64, 0, 1_000_000),
            (
                "firstByteTimeoutMs",
                ms(h.first_byte_timeout),
                1,
                10 * MINUTE_MS,
            ),
            (
                "betweenBytesTimeoutMs",
                ms(h.between_bytes_timeout),
                1,
                10 * MINUTE_MS,
            ),
            ("requestTimeoutMs", ms(h.request_timeout), 1, 10 * MINUTE_MS),
            ("maxRequests", u64::from(h.max_requests), 1, 1_000),
            ("maxRequestBytes", h.max_request_bytes as u64, 1, 64 * MIB),
            ("maxResponseBytes", h.max_response_bytes as u64, 1, 64 * MIB),
            ("maxRetries", u64::from(h.max_retries), 0, 10),
            ("maxRetryAfterMs", ms(h.max_retry_after), 0, 10 * MINUTE_MS),
        ];
        for (key, value, min, max) in checks {
            if !(min..=max).contains(&value) {
                return Err(Error::Tenant {
                    field: format!("limits.{key}"),
                    message: format!("must be between {min} and {max}"),
                });
            }
        }
        Ok(())
    }
}

/// Limits as written in a tenants file: every field optional, in camelCase,
/// durations in milliseconds. Missing fields keep the base value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitsConfig {
    /// See [`Limits::memory_bytes`].
    pub memory_bytes: Option<usize>,
    /// See [`Limits::cpu_time`], in ms.
    pub cpu_time_ms: Option<u64>,
    /// See [`Limits::wall_time`], in ms.
    pub wall_time_ms: Option<u64>,
    /// See [`Limits::max_input_bytes`].
    pub max_input_bytes: Option<usize>,
    /// See [`Limits::max_output_bytes`].
    pub max_output_bytes: Option<usize>,
    /// See [`Limits::max_concurrent`].
    pub max_concurrent: Option<usize>,
    /// See [`Limits::max_queued`].
    pub max_queued: Option<usize>,
    /// See [`HttpLimits::first_byte_timeout`], in ms.
    pub first_byte_timeout_ms: Option<u64>,
    /// See [`HttpLimits::between_bytes_timeout`], in ms.
    pub between_bytes_timeout_ms: Option<u64>,
    /// See [`HttpLimits::request_timeout`], in ms.
    pub request_timeout_ms: Option<u64>,
    /// See [`HttpLimits::max_requests`].
    pub max_requests: Option<u32>,
    /// See [`HttpLimits::max_request_bytes`].
    pub max_request_bytes: Option<usize>,
    /// See [`HttpLimits::max_response_bytes`].
    pub max_response_bytes: Option<usize>,
    /// See [`HttpLimits::max_retries`].
    pub max_retries: Option<u32>,
    /// See [`HttpLimits::max_retry_after`], in ms.
    pub max_retry_after_ms: Option<u64>,
}

impl LimitsConfig {
    /// `base` with the fields set here replaced.
    pub fn apply(&self, base: Limits) -> Limits {
        let ms = Duration::from_millis;
        let mut l = base;
        macro_rules! set {
            ($field:ident => $target:expr) => {
                if let Some(v) = self.$field {
                    $target = v;
                }
            };
            ($field:ident => $target:expr, ms) => {
                if let Some(v) = self.$field {
                    $target = ms(v);
                }
            };
        }
        set!(memory_bytes => l.memory_bytes);
        set!(cpu_time_ms => l.cpu_time, ms);
        set!(wall_time_ms => l.wall_time, ms);
        set!(max_input_bytes => l.max_input_bytes);
        set!(max_output_bytes => l.max_output_bytes);
        set!(max_concurrent => l.max_concurrent);
        set!(max_queued => l.max_queued);
        set!(first_byte_timeout_ms => l.http.first_byte_timeout, ms);
        set!(between_bytes_timeout_ms => l.http.between_bytes_timeout, ms);
        set!(request_timeout_ms => l.http.request_timeout, ms);
        set!(max_requests => l.http.max_requests);
        set!(max_request_bytes => l.http.max_request_bytes);
        set!(max_response_bytes => l.http.max_response_bytes);
        set!(max_retries => l.http.max_retries);
        set!(max_retry_after_ms => l.http.max_retry_after, ms);
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_overrides_only_what_it_sets() {
        let config: LimitsConfig = toml::from_str("maxConcurrent = 4\ncpuTimeMs = 500").unwrap();
        let limits = config.apply(Limits::default());
        assert_eq!(limits.max_concurrent, 4);
        assert_eq!(limits.cpu_time, Duration::from_millis(500));
        assert_eq!(limits.memory_bytes, Limits::default().memory_bytes);
        assert!(
            toml::from_str::<LimitsConfig>("maxConcurent = 4").is_err(),
            "typos are errors"
        );
    }

    #[test]
    fn limits_outside_their_range_name_their_key() {
        assert!(Limits::default().validate().is_ok());
        for (text, key) in [
            (
                "maxConcurrent = 9223372036854775807",
                "limits.maxConcurrent",
            ),
            ("maxConcurrent = 0", "limits.maxConcurrent"),
            ("wallTimeMs = 9223372036854775807", "limits.wallTimeMs"),
            ("requestTimeoutMs = 0", "limits.requestTimeoutMs"),
            ("maxOutputBytes = 10", "limits.maxOutputBytes"),
            ("maxRetries = 1000", "limits.maxRetries"),
        ] {
            let config: LimitsConfig = toml::from_str(text).unwrap();
            match config.apply(Limits::default()).validate() {
                Err(Error::Tenant { field, .. }) => assert_eq!(field, key, "{text}"),
                other => panic!("{text}: expected a tenant error, got {other:?}"),
            }
        }
    }
}
