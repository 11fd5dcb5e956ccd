//! hrbridge bridges HR systems that have no API: export files in, validated records out.
//!
//! A file moves through the crate in this order, one module per stage:
//!
//! | module        | owns |
//! |---------------|------|
//! | [`settings`]  | `hrbridge.toml`: profile folder, state folder, allowed output roots |
//! | [`profile`]   | the profile language: serde model, located loading, its own semantic rules, the schedule a profile's passes wait on |
//! | [`source`]    | local inbox folders and SFTP source folders: stability, safe names, staging with sha256, `after` actions |
//! | [`format`]    | readers (CSV with encodings, spreadsheets with caps) yielding positioned records |
//! | [`transform`] | mapping rules, filters and validation: raw record → record or rejection |
//! | [`lifecycle`] | full rosters diffed against the last accepted snapshot: joiners, movers, leavers, rehires, and the safeguards that hold a truncated export |
//! | [`privacy`]   | accountability for personal data: what categories each output sends to which recipient, and the rules of `[privacy]` (minimisation, transfers outside the EEA) |
//! | [`output`]    | destinations (atomic CSV/JSONL files, rejects files, SFTP uploads, REST and SCIM APIs with auth, rate limits and retries), name templates, and `[[notify]]` webhooks (signed JSON summaries of finished jobs) |
//! | [`sftp`]      | SSH/SFTP client: logins from a profile's keys, verified host keys (known_hosts), listings, pipelined transfers |
//! | [`daemon`]    | `run` without `--once`: folder watches, firing cron schedules, polls, operator commands and pauses, a heartbeat, clean shutdown |
//! | [`engine`]    | the checks a profile passes before it runs (every component's rules, the mapping plan compiled once per start), one job (read → map → write → commit → keep), delivery (publishing files and uploads, API rows through the ledger), passes over inboxes and SFTP folders, crash recovery, `retry` |
//! | [`standin`]   | a stand-in HR API (OAuth2, REST, SCIM) on loopback for the demo, tests and benchmarks |
//! | [`store`]     | SQLite: files, jobs, rejections, outputs, the delivery ledger, the id map, operator commands and pauses, keyset pages for the dashboard, and the hash-chained audit trail |
//! | [`kernel`]    | the ground floor every layer may use, importing nothing above it: the record vocabulary, atomic files, durations, the stop signal, the URL policy, backoff, PII masking, escaping, the installation key and secrets |
//! | [`tui`]       | the operator's dashboard (ratatui): jobs, errors, audit trail, profiles; pause, run, retry |
//! | [`cli`]       | the command line: argument parsing and one module per command; it builds the process's one tokio runtime and hands its `Handle` down |
//!
//! The modules are layered; each uses only its own layer and those below, and the folders
//! form no circle (`tests/it/layers.rs` checks this from the code and draws
//! `docs/import-graph.md`):
//!
//! | layer | modules |
//! |-------|---------|
//! | 7 command line | `cli` |
//! | 6 long-running services | `daemon`, `tui`, `standin` |
//! | 5 engine | `engine` |
//! | 4 components | `source`, `format`, `transform`, `output`, `lifecycle`, `privacy` |
//! | 3 transport | `sftp` |
//! | 2 profile language | `profile` |
//! | 1 installation and state | `settings`, `store` |
//! | 0 ground floor | `kernel` |
//!
//! A kind of source or output is told apart in one place each (`source::open`,
//! `output::open`); everything else asks the opened `Source` or `Output`.

pub mod cli;
pub mod daemon;
pub mod engine;
pub mod format;
pub mod kernel;
pub mod lifecycle;
pub mod output;
pub mod privacy;
pub mod profile;
pub mod settings;
pub mod sftp;
pub mod source;
pub mod standin;
pub mod store;
pub mod transform;
pub mod tui;
