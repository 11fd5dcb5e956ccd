//! `hrbridge preview --profile N FILE`: the mapped rows and every rejection, as tables, and
//! whether a run would fail the file (a broken header, too few rows, too many rejected —
//! exit 1 then).
//!
//! Nothing is written or sent and the store is not touched. PII fields are masked.

use std::path::Path;

use super::table::TextTable;
use super::{load_all, Exit};
use crate::engine::contract::contract_violation;
use crate::format::{self, Severity};
use crate::kernel::mask::mask;
use crate::store::Counts;
use crate::transform::RowOutcome;

pub fn run(config: Option<&Path>, profile_name: &str, rows: usize, file: &Path) -> Exit {
    let (_, profiles) = match load_all(config) {
        Ok(x) => x,
        Err(e) => return e,
    };
    let Some(checked) = profiles.iter().find(|c| c.profile.name == profile_name) else {
        eprintln!("error: no profile named {profile_name:?}");
        return Exit::Usage;
    };
    let (profile, plan) = (&checked.profile, &checked.plan);
    let display_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string());
    let table = match format::open(file, &display_name, &profile.format) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Failed;
        }
    };
    let mapper = match plan.bind(&table.header) {
        Ok(m) => m,
        Err(missing) => {
            eprintln!("error: {display_name}: {missing}");
            return Exit::Failed;
        }
    };
    let fields = plan.fields();
    let mut mapped = TextTable::new(
        std::iter::once("row".to_string()).chain(fields.iter().map(|f| f.name.clone())),
    );
    let mut rejected = TextTable::new(["row", "column", "field", "reason"]).max_width(100);
    let mut counts = Counts::default();
    let mut file_error = None;
    for item in table.records {
        match item {
            Ok(rec) => {
                counts.read += 1;
                match mapper.apply(&rec) {
                    RowOutcome::Mapped(m) => {
                        counts.written += 1;
                        if (counts.written as usize) <= rows {
                            let cells = m.values.iter().zip(fields).map(|(v, f)| {
                                let text = v.to_string();
                                if f.pii {
                                    mask(&text)
                                } else {
                                    text
                                }
                            });
                            mapped.push(std::iter::once(m.pos.row.to_string()).chain(cells));
                        }
                    }
                    RowOutcome::Filtered { .. } => counts.filtered += 1,
                    RowOutcome::Rejected(rs) => {
                        counts.rejected += 1;
                        for r in rs {
                            rejected.push([
                                r.pos.row.to_string(),
                                r.column.unwrap_or_default(),
                                r.field.unwrap_or_default(),
                                r.reason,
                            ]);
                        }
                    }
                }
            }
            Err(e) if e.severity == Severity::Row => {
                counts.read += 1;
                counts.rejected += 1;
                rejected.push([
                    e.pos.row.to_string(),
                    e.column.unwrap_or_default(),
                    String::new(),
                    e.reason,
                ]);
            }
            Err(e) => {
                file_error = Some(e);
                break;
            }
        }
    }
    println!("{display_name} with profile {profile_name} (PII masked; nothing written)\n");
    print!("{}", mapped.render());
    if counts.written as usize > rows {
        println!("… {} more mapped row(s)", counts.written as usize - rows);
    }
    if !rejected.is_empty() {
        println!("\nrejected rows:");
        print!("{}", rejected.render());
    }
    println!(
        "\nread {}, filtered {}, rejected {}, mapped {}",
        counts.read, counts.filtered, counts.rejected, counts.written
    );
    match file_error {
        Some(e) => {
            eprintln!("error: {e}");
            Exit::Failed
        }
        None => match contract_violation(profile, &counts) {
            // What a run would do with this file: fail it, and deliver nothing.
            Some(broken) => {
                println!("\na run would fail this file: {broken}");
                Exit::Failed
            }
            None => Exit::Ok,
        },
    }
}
