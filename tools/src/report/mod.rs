//! `mia report RUN_DIR... [--out DIR]`: statistics, a self-contained HTML report with plots,
//! the post-mortem of every trade, and the enriched trade and snapshot CSVs (`docs/report.md`).

pub mod stats;
