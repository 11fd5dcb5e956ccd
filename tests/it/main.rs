//! The integration tests as one binary: the crate is linked once instead of once per test
//! file. Each module is one area of behaviour, driven through the real `hrbridge` binary or
//! the library; `common` is their shared harness (also used by the benchmarks, so it stays in
//! `tests/common/`).

#[path = "../common/mod.rs"]
mod common;

mod age_interop;
mod api_delivery;
mod api_edge_cases;
mod at_rest;
mod audit_cli;
mod bad_inputs;
mod check_cli;
mod crash;
mod daemon;
mod daemon_commands;
mod demo;
mod faults_cli;
mod faults_format;
mod faults_inbox;
mod faults_jobs;
mod faults_output;
mod faults_sftp;
mod fixed_width;
mod layers;
mod lifecycle;
mod lifecycle_dating;
mod lifecycle_faults;
mod lifecycle_order;
mod lifecycle_routes;
mod notify;
mod recovery;
mod run_once;
mod scim_delivery;
mod secrets_cli;
mod sftp_client;
mod sftp_source;
mod slow_writer;
mod trace_cli;
mod tui_snapshots;
mod tui_tmux;
mod x12_834;
