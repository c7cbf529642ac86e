//! The service's metrics, in the Prometheus text format (`GET /metrics`):
//! invocations by tenant, connector, capability and outcome; latency
//! histograms by connector and capability; invocations in flight and
//! queued; token fetches; guest traps; limit hits; flow runs by tenant and
//! status; HTTP requests by route and status. Labels are the operator's names (tenants, connectors,
//! capabilities, routes); no key, secret or input ever becomes one.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use connector_runtime::TenantStats;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// What the service counts.
#[derive(Default)]
pub struct Metrics {
    invocations: Mutex<BTreeMap<[String; 4], u64>>,
    latency: Mutex<BTreeMap<[String; 2], Histogram>>,
    traps: Mutex<BTreeMap<[String; 3], u64>>,
    limits: Mutex<BTreeMap<[String; 2], u64>>,
    http: Mutex<BTreeMap<[String; 2], u64>>,
    in_flight: AtomicI64,
}

/// Holds one in-flight invocation in the gauge; dropped when it ends.
pub struct InFlight<'a>(&'a Metrics);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// An invocation starts.
    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// An invocation ended with `outcome` (`ok` or the error's kind) after
    /// `took`; `limit` is the limit it hit, if any.
    pub fn invocation(
        &self,
        tenant: &str,
        connector: &str,
        capability: &str,
        outcome: &str,
        limit: Option<&str>,
        took: Duration,
    ) {
        let key = [tenant, connector, capability, outcome].map(str::to_owned);
        *self.invocations.lock().unwrap().entry(key).or_default() += 1;
        let seconds = took.as_secs_f64();
        let mut latency = self.latency.lock().unwrap();
        let h = latency
            .entry([connector.to_owned(), capability.to_owned()])
            .or_default();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
        drop(latency);
        if outcome == "trap" {
            let key = [tenant, connector, capability].map(str::to_owned);
            *self.traps.lock().unwrap().entry(key).or_default() += 1;
        }
        if let Some(limit) = limit {
            let key = [tenant.to_owned(), limit.to_owned()];
            *self.limits.lock().unwrap().entry(key).or_default() += 1;
        }
    }

    /// An HTTP request was answered.
    pub fn http(&self, route: &str, status: u16) {
        let key = [route.to_owned(), status.to_string()];
        *self.http.lock().unwrap().entry(key).or_default() += 1;
    }

    /// The text exposition; `tenants` are every tenant's name and counters.
    pub fn render(
        &self,
        tenants: &[(String, TenantStats)],
        flow_runs: &[(String, &str, usize)],
    ) -> String {
        let mut out = String::new();
        let family = |out: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        family(
            &mut out,
            "connector_invocations_total",
            "counter",
            "Invocations by tenant, connector, capability and outcome (ok or the error kind).",
        );
        for (k, v) in self.invocations.lock().unwrap().iter() {
            let _ = writeln!(
                out,
                "connector_invocations_total{{tenant=\"{}\",connector=\"{}\",capability=\"{}\",outcome=\"{}\"}} {v}",
                esc(&k[0]), esc(&k[1]), esc(&k[2]), esc(&k[3])
            );
        }
        family(
            &mut out,
            "connector_invocation_duration_seconds",
            "histogram",
            "Time from receiving an invocation to its answer.",
        );
        for (k, h) in self.latency.lock().unwrap().iter() {
            let labels = format!("connector=\"{}\",capability=\"{}\"", esc(&k[0]), esc(&k[1]));
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "connector_invocation_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "connector_invocation_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "connector_invocation_duration_seconds_sum{{{labels}}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "connector_invocation_duration_seconds_count{{{labels}}} {}",
                h.count
            );
        }
        family(
            &mut out,
            "connector_in_flight",
            "gauge",
            "Invocations the service is running now.",
        );
        let _ = writeln!(
            out,
            "connector_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        family(
            &mut out,
            "connector_tenant_in_flight",
            "gauge",
            "Invocations running now, by tenant.",
        );
        for (tenant, stats) in tenants {
            let _ = writeln!(
                out,
                "connector_tenant_in_flight{{tenant=\"{}\"}} {}",
                esc(tenant),
                stats.in_flight
            );
        }
        family(
            &mut out,
            "connector_tenant_queued",
            "gauge",
            "Invocations waiting for one of their tenant's slots.",
        );
        for (tenant, stats) in tenants {
            let _ = writeln!(
                out,
                "connector_tenant_queued{{tenant=\"{}\"}} {}",
                esc(tenant),
                stats.queued
            );
        }
        family(
            &mut out,
            "connector_token_fetches_total",
            "counter",
            "Access tokens fetched, by tenant.",
        );
        for (tenant, stats) in tenants {
            let _ = writeln!(
                out,
                "connector_token_fetches_total{{tenant=\"{}\"}} {}",
                esc(tenant),
                stats.token_fetches
            );
        }
        family(
            &mut out,
            "connector_guest_traps_total",
            "counter",
            "Invocations whose guest trapped.",
        );
        for (k, v) in self.traps.lock().unwrap().iter() {
            let _ = writeln!(out, "connector_guest_traps_total{{tenant=\"{}\",connector=\"{}\",capability=\"{}\"}} {v}", esc(&k[0]), esc(&k[1]), esc(&k[2]));
        }
        family(
            &mut out,
            "connector_limit_hits_total",
            "counter",
            "Invocations ended by a limit, by tenant and limit.",
        );
        for (k, v) in self.limits.lock().unwrap().iter() {
            let _ = writeln!(
                out,
                "connector_limit_hits_total{{tenant=\"{}\",limit=\"{}\"}} {v}",
                esc(&k[0]),
                esc(&k[1])
            );
        }
        family(
            &mut out,
            "connector_flow_runs",
            "gauge",
            "Flow runs the service holds, by tenant and status (the finished ones until they are forgotten).",
        );
        for (tenant, status, n) in flow_runs {
            let _ = writeln!(
                out,
                "connector_flow_runs{{tenant=\"{}\",status=\"{}\"}} {n}",
                esc(tenant),
                esc(status)
            );
        }
        family(
            &mut out,
            "http_requests_total",
            "counter",
            "HTTP requests by route and status.",
        );
        for (k, v) in self.http.lock().unwrap().iter() {
            let _ = writeln!(
                out,
                "http_requests_total{{route=\"{}\",status=\"{}\"}} {v}",
                esc(&k[0]),
                esc(&k[1])
            );
        }
        out
    }
}

/// A label value, escaped as the text format requires.
fn esc(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
