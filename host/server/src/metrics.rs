//! Prometheus metrics: `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::sync::Mutex;

use conform_model::{codes, FileSummary, Rejection};

use super::error::ApiCode;
use conform_engine::sink::Sink;

/// Counters of the server.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    /// (plugin, outcome) → rows
    rows: BTreeMap<(String, &'static str), u64>,
    /// (plugin, code) → rows rejected because the plugin failed (`plugin-*` codes)
    plugin_faults: BTreeMap<(String, &'static str), u64>,
    /// final state → jobs
    jobs: BTreeMap<&'static str, u64>,
    job_seconds_sum: f64,
    job_seconds_count: u64,
    /// limit code → times hit
    limit_hits: BTreeMap<String, u64>,
    /// (route template, status) → requests
    requests: BTreeMap<(String, u16), u64>,
    /// route template → (seconds, requests)
    request_seconds: BTreeMap<String, (f64, u64)>,
}

/// Whether `code` means a limit of the server was hit: an API answer's
/// limit code ([`ApiCode::is_limit`]), or the row or time limit that
/// stopped a conversion.
pub fn is_limit_code(code: &str) -> bool {
    code == conform_model::codes::ROWS_LIMIT
        || code == conform_model::codes::TIME_LIMIT
        || ApiCode::ALL
            .iter()
            .any(|c| c.is_limit() && c.as_str() == code)
}

impl Metrics {
    /// Counts a limit hit, if `code` is one ([`is_limit_code`]).
    pub fn record_limit(&self, code: &str) {
        if is_limit_code(code) {
            let mut c = self.inner.lock().expect("not poisoned");
            *c.limit_hits.entry(code.to_string()).or_default() += 1;
        }
    }

    /// Counts a converted file's rows, the plugin faults seen in it and the
    /// limit that stopped it, if one did.
    pub fn record_file(&self, summary: &FileSummary, faults: &BTreeMap<&'static str, u64>) {
        if let Some(code) = &summary.error_code {
            self.record_limit(code);
        }
        let mut c = self.inner.lock().expect("not poisoned");
        *c.rows
            .entry((summary.plugin.clone(), "converted"))
            .or_default() += summary.converted;
        *c.rows
            .entry((summary.plugin.clone(), "rejected"))
            .or_default() += summary.rejected;
        for (code, n) in faults {
            *c.plugin_faults
                .entry((summary.plugin.clone(), *code))
                .or_default() += n;
        }
    }

    /// Counts a request whose answer has been written, by route template
    /// (a bounded set: the router's, or `unmatched`) and status.
    pub fn record_request(&self, route: &str, status: u16, seconds: f64) {
        let mut c = self.inner.lock().expect("not poisoned");
        *c.requests.entry((route.to_string(), status)).or_default() += 1;
        let time = c.request_seconds.entry(route.to_string()).or_default();
        time.0 += seconds;
        time.1 += 1;
    }

    /// Counts a finished job and its duration.
    pub fn record_job(&self, state: &'static str, seconds: f64) {
        let mut c = self.inner.lock().expect("not poisoned");
        *c.jobs.entry(state).or_default() += 1;
        c.job_seconds_sum += seconds;
        c.job_seconds_count += 1;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let c = self.inner.lock().expect("not poisoned");
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP conform_rows_total Input rows by plugin and outcome."
        );
        let _ = writeln!(out, "# TYPE conform_rows_total counter");
        for ((plugin, outcome), n) in &c.rows {
            let _ = writeln!(
                out,
                "conform_rows_total{{plugin=\"{plugin}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        let _ = writeln!(out, "# HELP conform_plugin_faults_total Rows rejected because the plugin trapped, timed out, ran out of memory or broke the contract.");
        let _ = writeln!(out, "# TYPE conform_plugin_faults_total counter");
        for ((plugin, code), n) in &c.plugin_faults {
            let _ = writeln!(
                out,
                "conform_plugin_faults_total{{plugin=\"{plugin}\",code=\"{code}\"}} {n}"
            );
        }
        let _ = writeln!(out, "# HELP conform_jobs_total Bulk jobs by final state.");
        let _ = writeln!(out, "# TYPE conform_jobs_total counter");
        for (state, n) in &c.jobs {
            let _ = writeln!(out, "conform_jobs_total{{state=\"{state}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP conform_job_duration_seconds Time from start to end of bulk jobs."
        );
        let _ = writeln!(out, "# TYPE conform_job_duration_seconds summary");
        let _ = writeln!(
            out,
            "conform_job_duration_seconds_sum {}",
            c.job_seconds_sum
        );
        let _ = writeln!(
            out,
            "conform_job_duration_seconds_count {}",
            c.job_seconds_count
        );
        let _ = writeln!(
            out,
            "# HELP conform_limit_hits_total Requests, conversions and jobs stopped by a limit, by error code."
        );
        let _ = writeln!(out, "# TYPE conform_limit_hits_total counter");
        for (code, n) in &c.limit_hits {
            let _ = writeln!(out, "conform_limit_hits_total{{code=\"{code}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP conform_http_requests_total Requests answered, by route and status."
        );
        let _ = writeln!(out, "# TYPE conform_http_requests_total counter");
        for ((route, status), n) in &c.requests {
            let _ = writeln!(
                out,
                "conform_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        let _ = writeln!(out, "# HELP conform_http_request_duration_seconds Time from a request's arrival to the end of its answer, by route.");
        let _ = writeln!(out, "# TYPE conform_http_request_duration_seconds summary");
        for (route, (seconds, n)) in &c.request_seconds {
            let _ = writeln!(
                out,
                "conform_http_request_duration_seconds_sum{{route=\"{route}\"}} {seconds}"
            );
            let _ = writeln!(
                out,
                "conform_http_request_duration_seconds_count{{route=\"{route}\"}} {n}"
            );
        }
        out
    }
}

/// Passes everything to a sink and counts the plugin faults among the rejections.
pub(crate) struct FaultCounter<'a> {
    pub(crate) inner: &'a mut dyn Sink,
    pub(crate) faults: BTreeMap<&'static str, u64>,
}

impl Sink for FaultCounter<'_> {
    fn record(&mut self, line: &[u8]) -> io::Result<()> {
        self.inner.record(line)
    }

    fn rejection(&mut self, rejection: &Rejection) -> io::Result<()> {
        // Only the host's own fault codes become labels: a plugin choosing
        // `plugin-<anything>` counts as `other`, so labels stay few.
        if rejection.code.starts_with("plugin-") {
            let code = codes::PLUGIN_FAULTS
                .iter()
                .find(|c| **c == rejection.code)
                .copied()
                .unwrap_or("other");
            *self.faults.entry(code).or_default() += 1;
        }
        self.inner.rejection(rejection)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
