//! Monitoring (cold side): the health model over the hot threads' [`LiveMetrics`] cells, alert
//! rules, the Discord notifier, the Prometheus `/metrics` endpoint, the monitor thread that
//! ties them together and writes `RUN_DIR/status.json`, and the `mia status` view.
//! Nothing here runs on the hot path; the hot threads only store into `LiveMetrics`.
//! `docs/monitoring.md` has every metric, rule and default.
//!
//! - [`health`]: [`health::Health`] from successive snapshots and the host's resources;
//! - [`rules`]: `[monitor]` config, alert rules (levels, cooldowns, recovery);
//! - [`discord`]: webhook notifier (bounded queue, rate limits, retries, 429);
//! - [`prometheus`]: the `/metrics` page and its server thread;
//! - [`thread`]: [`thread::Monitor`], the sampling thread;
//! - [`status_view`]: `mia status`.
//!
//! [`LiveMetrics`]: mia_runtime::metrics::LiveMetrics

pub mod discord;
pub mod health;
pub mod prometheus;
pub mod rules;
pub mod status_view;
pub mod thread;

pub use rules::MonitorConfig;
pub use thread::Monitor;
