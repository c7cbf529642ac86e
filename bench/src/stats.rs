//! The arithmetic every figure shares: the spread of a set of samples
//! (median with p10 and p90), how a figure is printed, and the clocks a
//! sample is read from (wall time in microseconds, and this process's CPU
//! time from `getrusage`).

use std::time::Duration;

/// (p10, median, p90) of `samples`.
pub fn spread(samples: &mut [f64]) -> (f64, f64, f64) {
    assert!(!samples.is_empty());
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.10), at(0.50), at(0.90))
}

/// A spread as the report prints it: `median [p10 .. p90]`.
pub fn fmt3((p10, p50, p90): (f64, f64, f64)) -> String {
    format!("{} [{} .. {}]", num(p50), num(p10), num(p90))
}

/// One figure with about three significant digits, so that the columns stay
/// narrow whatever the magnitude.
fn num(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// User + system CPU time of this process.
pub fn cpu_now() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// A duration in microseconds, the unit of every latency in the report.
pub fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
