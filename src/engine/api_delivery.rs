//! Publishing an API output: sending the records of its spool, each exactly once in effect.
//!
//! Rows already settled in the delivery ledger are skipped; the others are grouped into items
//! (one record, or a batch), each with an `Idempotency-Key` derived from the spool's hash, the
//! output, the first line and the rows' key generation — the same after a crash or a restart,
//! and after a `retry` too unless the API had refused the rows for good (the ledger then moved
//! them to a new generation; `store/ledger.rs` says why). Workers (the
//! output's `concurrency`) send items; the ledger is written by this thread, which owns the
//! store, in small transactions as reports arrive: `sending` when a worker takes an item (the
//! entry may be committed just after the request went out — harmless, since `sending` counts
//! as unsettled), `delivered` or `failed` once its answer is final. A row is never settled
//! without a report: a worker that ends without one keeps the job `committing`.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::kernel::keys::KeyedHash;
use crate::kernel::mapped::FieldInfo;
use crate::output::api::client::ApiClient;
use crate::output::api::spool::{SpoolHeader, SpoolReader, SpoolRecord};
use crate::output::api::{ApiOutput, Deliverer, Item, Outcome};
use crate::privacy::trace::{id_map_key, ID_MAP_HASH};
use crate::store::{DeliveryState, LedgerEntry, OutputRow};

use super::job::JobContext;
use super::EngineError;

/// Items read ahead of the workers (bounded, so memory does not grow with the file).
const QUEUED_ITEMS: usize = 1024;

/// The ledger writer's view of a run: how many rows it settled (delivered or failed), and
/// what is not settled yet.
#[derive(Debug, Default)]
struct Progress {
    settled: u64,
    /// First lines of the items a worker took and has not reported on.
    in_flight: HashSet<u64>,
    /// Some item was abandoned because hrbridge is stopping.
    interrupted: bool,
}

/// What a worker reports to the ledger writer.
enum Report {
    Sending(Vec<(u64, u64)>),
    Done(Item, Outcome),
}

/// Sends the unsettled records of API output `row` of job `job_id`; returns how many rows
/// this run settled (delivered, or failed for good).
pub(super) fn deliver(
    ctx: &JobContext<'_>,
    job_id: i64,
    row: &OutputRow,
    api: &ApiOutput<'_>,
) -> Result<u64, EngineError> {
    let index = row.output_index.unwrap_or_default();
    let fail = |message: String| EngineError::Profile {
        profile: ctx.profile.name.clone(),
        message: format!("output {}: {message}", index + 1),
    };
    let fields = ctx.fields();
    let connection = api.connection;
    let map = api.id_map(&ctx.profile.name).to_string();
    let id_hash = ctx.key.keyed_hash(ID_MAP_HASH);
    let records = open_spool(ctx, job_id, row, api)?;
    let mut feeder = Feeder {
        ctx,
        // The profile's batch size: `open_spool` refuses a spool written for another.
        batch_size: records.header.batch_size,
        records,
        settled: ctx.store.ledger_settled(job_id, index)?,
        generations: ctx.store.ledger_key_generations(job_id, index)?,
        map: &map,
        id_hash: &id_hash,
        spool_sha256: &row.sha256,
        index,
        fields: &fields,
    };
    // Nothing left to send (a recovery after the last row): no client, no secrets needed.
    let Some(first) = feeder.next_item()? else {
        return Ok(0);
    };
    let client = ApiClient::new(connection, ctx.settings, ctx.stop.clone())
        .map_err(|e| fail(e.to_string()))?;
    let workers = connection.concurrency().max(1);
    let writer = LedgerWriter {
        ctx,
        job_id,
        index,
        map: &map,
        id_hash: &id_hash,
        fields: &fields,
    };
    let deliverer = api
        .deliverer(client, &fields)
        .map_err(|e| fail(e.to_string()))?;
    ctx.runtime
        .block_on(run(Arc::new(deliverer), first, feeder, workers, writer))
}

/// Opens the spool of API output `row` of job `job_id`, refusing one that was written for
/// other fields or another batch size than the profile has now.
pub(super) fn open_spool(
    ctx: &JobContext<'_>,
    job_id: i64,
    row: &OutputRow,
    api: &ApiOutput<'_>,
) -> Result<SpoolReader, EngineError> {
    let refuse = |why: String| EngineError::Profile {
        profile: ctx.profile.name.clone(),
        message: format!("job {job_id}, {}: {why}", row.final_path),
    };
    let reader = match SpoolReader::open(Path::new(&row.temp_path), ctx.key) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(refuse(
                "its spool is gone, so its rows cannot be sent".into(),
            ))
        }
        Err(e) => {
            return Err(EngineError::io(
                format!("reading the spool of job {job_id}"),
                e,
            ))
        }
    };
    match reader
        .header
        .mismatch(&SpoolHeader::new(api.batch_size, &ctx.fields()))
    {
        Some(why) => Err(refuse(format!(
            "{why}; restore the profile as it was until this job is delivered"
        ))),
        None => Ok(reader),
    }
}

/// Reads the spool and hands out the items still to send, one batch of lines at a time, so
/// memory stays small whatever the file size.
struct Feeder<'c, 'a> {
    ctx: &'c JobContext<'a>,
    records: SpoolReader,
    /// Lines settled in the ledger, sorted.
    settled: Vec<u64>,
    /// Lines with a key generation above 0, sorted by line.
    generations: Vec<(u64, u32)>,
    batch_size: usize,
    map: &'c str,
    /// Keys the id map's record keys.
    id_hash: &'c KeyedHash,
    spool_sha256: &'c str,
    index: usize,
    fields: &'c [FieldInfo],
}

impl Feeder<'_, '_> {
    /// The next item with a line not yet settled, or `None` at the end of the spool.
    fn next_item(&mut self) -> Result<Option<Item>, EngineError> {
        loop {
            let mut chunk = Vec::with_capacity(self.batch_size);
            for rec in self.records.by_ref().take(self.batch_size) {
                chunk.push(rec.map_err(|e| EngineError::io("reading a spool".into(), e))?);
            }
            let Some(first) = chunk.first() else {
                return Ok(None);
            };
            if chunk
                .iter()
                .all(|r| self.settled.binary_search(&r.line).is_ok())
            {
                continue;
            }
            let known_id = match id_key(first, self.fields, self.id_hash) {
                Some(key) => self.ctx.store.id_lookup(self.map, &key)?,
                None => None,
            };
            let idempotency_key = idempotency_key(
                &self.ctx.profile.name,
                self.spool_sha256,
                self.index,
                first.line,
                item_generation(&self.generations, &chunk),
            );
            return Ok(Some(Item {
                records: chunk,
                idempotency_key,
                known_id,
            }));
        }
    }
}

/// Runs `workers` tasks over `first` and the feeder's items, writing their reports to the
/// ledger as they come; the feeder is read only as fast as the workers take items.
async fn run<D: Deliverer>(
    deliverer: Arc<D>,
    first: Item,
    mut feeder: Feeder<'_, '_>,
    workers: usize,
    writer: LedgerWriter<'_, '_>,
) -> Result<u64, EngineError> {
    // Enough items queued that the workers never wait while the ledger is being written.
    let (item_tx, item_rx) = mpsc::channel::<Item>(QUEUED_ITEMS.max(workers * 2));
    let item_rx = Arc::new(tokio::sync::Mutex::new(item_rx));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut handles = Vec::with_capacity(workers);
    for _ in 0..workers {
        let (items, tx, deliverer) = (item_rx.clone(), tx.clone(), deliverer.clone());
        let stop = writer.ctx.stop.clone();
        handles.push(tokio::spawn(async move {
            loop {
                if stop.is_stopped() {
                    break;
                }
                let next = items.lock().await.recv().await;
                let Some(item) = next else { break };
                let lines = item.records.iter().map(|r| (r.line, r.row)).collect();
                if tx.send(Report::Sending(lines)).is_err() {
                    break;
                }
                let outcome = deliverer.deliver(&item).await;
                if tx.send(Report::Done(item, outcome)).is_err() {
                    break;
                }
            }
        }));
    }
    drop(tx);
    let mut pending = Some(first);
    let mut feeding = Some(item_tx);
    let mut progress = Progress::default();
    loop {
        tokio::select! {
            permit = async { feeding.clone()?.reserve_owned().await.ok() }, if feeding.is_some() => {
                let next = match pending.take() {
                    Some(item) => Some(item),
                    None => feeder.next_item()?,
                };
                match (permit, next) {
                    (Some(permit), Some(item)) => {
                        permit.send(item);
                    }
                    // The spool is done (or the workers are gone): closing the channel lets
                    // the workers finish once it is empty.
                    _ => feeding = None,
                }
            }
            report = rx.recv() => {
                let Some(first) = report else { break };
                let mut batch = vec![first];
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                    if batch.len() >= 512 {
                        break;
                    }
                }
                writer.write(&batch, &mut progress)?;
            }
        }
    }
    let mut crashed = false;
    for handle in handles {
        crashed |= handle.await.is_err();
    }
    let unsent = feeding.is_some() || item_rx.lock().await.try_recv().is_ok();
    let profile = writer.ctx.profile.name.clone();
    if crashed || (!progress.in_flight.is_empty() && !writer.ctx.stop.is_stopped()) {
        // Never let a row go unreported: the job stays committing and is resumed.
        return Err(EngineError::Profile {
            profile,
            message: format!(
                "job {}: a delivery worker ended without reporting its rows (a bug); the job stays committing and resumes on the next start",
                writer.job_id
            ),
        });
    }
    if unsent || progress.interrupted || !progress.in_flight.is_empty() {
        return Err(EngineError::Stopped {
            profile,
            job_id: writer.job_id,
        });
    }
    Ok(progress.settled)
}

/// Turns worker reports into ledger entries and id map updates.
struct LedgerWriter<'c, 'a> {
    ctx: &'c JobContext<'a>,
    job_id: i64,
    index: usize,
    map: &'c str,
    id_hash: &'c KeyedHash,
    fields: &'c [FieldInfo],
}

impl LedgerWriter<'_, '_> {
    fn write(&self, reports: &[Report], progress: &mut Progress) -> Result<(), EngineError> {
        let mut entries = Vec::new();
        let mut ids = Vec::new();
        let entry = |line, row, state, attempts, status, reason| LedgerEntry {
            output_index: self.index,
            line,
            row,
            state,
            attempts,
            status,
            reason,
        };
        let store = self.ctx.store;
        for report in reports {
            match report {
                Report::Sending(lines) => {
                    if let Some(&(first, _)) = lines.first() {
                        progress.in_flight.insert(first);
                    }
                    for &(line, row) in lines {
                        entries.push(entry(line, row, DeliveryState::Sending, 0, None, None));
                    }
                }
                Report::Done(item, outcome) => {
                    if let Some(first) = item.records.first() {
                        progress.in_flight.remove(&first.line);
                    }
                    // Whoever built the reason, no PII value of the rows is stored with it.
                    let pii = item.pii(self.fields);
                    let (state, attempts, status, reason) = match outcome {
                        Outcome::Delivered {
                            status,
                            attempts,
                            captured_id,
                            note,
                        } => {
                            if let (Some(id), Some(key)) = (
                                captured_id,
                                item.records
                                    .first()
                                    .and_then(|r| id_key(r, self.fields, self.id_hash)),
                            ) {
                                ids.push((self.map, key, id.clone()));
                            }
                            (
                                DeliveryState::Delivered,
                                *attempts,
                                Some(*status),
                                note.as_deref().map(|n| pii.hide(n)),
                            )
                        }
                        Outcome::Failed {
                            status,
                            attempts,
                            reason,
                        } => (
                            DeliveryState::Failed,
                            *attempts,
                            *status,
                            Some(pii.hide(reason)),
                        ),
                        Outcome::Interrupted => {
                            // Left `sending`: resent under the same key on the next start.
                            progress.interrupted = true;
                            continue;
                        }
                    };
                    progress.settled += item.records.len() as u64;
                    for r in &item.records {
                        entries.push(entry(
                            r.line,
                            r.row,
                            state,
                            attempts,
                            status,
                            reason.clone(),
                        ));
                    }
                }
            }
        }
        store.ledger_write(self.job_id, &entries, &ids)?;
        Ok(())
    }
}

/// The key generation of an item: the highest of its lines' (0 for lines `generations` does
/// not list). The lines of an item are always settled and reopened together, so they share
/// one generation; the highest is the safe pick if they ever did not, since a generation only
/// grows after a definitive refusal, when a key the server has not seen is wanted.
fn item_generation(generations: &[(u64, u32)], chunk: &[SpoolRecord]) -> u32 {
    chunk
        .iter()
        .filter_map(|r| {
            let at = generations.binary_search_by_key(&r.line, |&(line, _)| line);
            at.ok().and_then(|i| generations.get(i)).map(|&(_, g)| g)
        })
        .max()
        .unwrap_or(0)
}

/// The `Idempotency-Key` of the item starting at `line` in key generation `generation`: the
/// same for the same records of the same file through the same profile and output, whenever
/// they are sent, until `retry` moves refused rows to a new generation. Generation 0 leaves the
/// generation out of the hash, so it is the key the rows had before generations existed.
fn idempotency_key(
    profile: &str,
    spool_sha256: &str,
    index: usize,
    line: u64,
    generation: u32,
) -> String {
    let mut h = Sha256::new();
    let renewed = (generation > 0).then(|| generation.to_string());
    let (index, line) = (index.to_string(), line.to_string());
    for part in [profile, spool_sha256, &index, &line]
        .into_iter()
        .chain(renewed.as_deref())
    {
        h.update(part.as_bytes());
        h.update([0]);
    }
    format!("hrb-{}", &hex::encode(h.finalize())[..32])
}

/// The record's key in the id map: a keyed hash of its `key` fields' values (see
/// [`id_map_key`]), so the store never holds them. `None` without key fields or values.
pub fn id_key(rec: &SpoolRecord, fields: &[FieldInfo], hash: &KeyedHash) -> Option<String> {
    let parts: Vec<String> = fields
        .iter()
        .zip(&rec.values)
        .filter(|(f, _)| f.key)
        .map(|(_, v)| crate::output::api::template::text_of(v))
        .collect();
    id_map_key(&parts, fields.iter().any(|f| f.key && f.pii), hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_distinct() {
        let a = idempotency_key("p", "ab", 0, 7, 0);
        assert_eq!(a, idempotency_key("p", "ab", 0, 7, 0));
        assert_eq!(a.len(), 36);
        let others = [
            idempotency_key("q", "ab", 0, 7, 0),
            idempotency_key("p", "ac", 0, 7, 0),
            idempotency_key("p", "ab", 1, 7, 0),
            idempotency_key("p", "ab", 0, 8, 0),
            idempotency_key("p", "ab", 0, 7, 1),
            idempotency_key("p", "ab", 0, 7, 2),
        ];
        let distinct: HashSet<_> = others.iter().chain([&a]).collect();
        assert_eq!(distinct.len(), others.len() + 1);
        assert_eq!(idempotency_key("p", "ab", 0, 7, 1), others[4]);
    }

    #[test]
    fn generation_zero_keeps_the_keys_spools_were_sent_under() {
        // The key of profile `hris`, line 7 of output 0 before key generations existed:
        // sha256("hris\0" + "ab"*32 + "\0" + "0\0" + "7\0"), first 32 hex digits.
        let spool = "ab".repeat(32);
        assert_eq!(
            idempotency_key("hris", &spool, 0, 7, 0),
            "hrb-f5cf028af302ad17ea17deff95e689af"
        );
    }

    #[test]
    fn an_item_takes_the_highest_generation_of_its_lines() {
        let rec = |line| SpoolRecord {
            line,
            row: line + 2,
            sheet: None,
            values: Vec::new(),
        };
        let generations = [(3, 1), (4, 2), (9, 1)];
        // Never reopened, or reopened after an ambiguous failure only: generation 0, the key
        // the server may have applied the rows under.
        assert_eq!(item_generation(&generations, &[rec(0), rec(1), rec(2)]), 0);
        assert_eq!(item_generation(&[], &[rec(3)]), 0);
        assert_eq!(item_generation(&generations, &[rec(3)]), 1);
        assert_eq!(item_generation(&generations, &[rec(2), rec(3), rec(4)]), 2);
        assert_eq!(item_generation(&generations, &[rec(8), rec(9), rec(10)]), 1);
        assert_eq!(item_generation(&generations, &[]), 0);
    }

    #[test]
    fn id_keys_are_keyed_hashes_of_the_key_fields() {
        let rec = SpoolRecord {
            line: 0,
            row: 2,
            sheet: None,
            values: vec!["E1".into(), "123-45-6789".into()],
        };
        let field = |name: &str, key, pii| FieldInfo {
            name: name.into(),
            pii,
            key,
        };
        let hash = crate::kernel::keys::InstallationKey::ephemeral().keyed_hash(ID_MAP_HASH);
        let plain = [field("id", true, false), field("ssn", false, true)];
        assert_eq!(
            id_key(&rec, &plain, &hash),
            id_map_key(&["E1"], false, &hash)
        );
        let secret = [field("id", false, false), field("ssn", true, true)];
        let hidden = id_key(&rec, &secret, &hash).unwrap();
        assert!(
            hidden.starts_with("k:") && !hidden.contains("6789"),
            "{hidden}"
        );
        let none = [field("id", false, false), field("ssn", false, true)];
        assert_eq!(id_key(&rec, &none, &hash), None);
    }
}
