//! Aligned text tables for the terminal (`jobs`, `audit`, `preview`, `demo`).

/// A table of text cells under a header, rendered with columns padded to their widest cell.
pub struct TextTable {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    max_width: usize,
}

impl TextTable {
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> TextTable {
        TextTable {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
            max_width: 60,
        }
    }

    /// Cells longer than `width` characters are cut with `…`.
    pub fn max_width(mut self, width: usize) -> TextTable {
        self.max_width = width.max(1);
        self
    }

    pub fn push<S: Into<String>>(&mut self, row: impl IntoIterator<Item = S>) {
        self.rows.push(row.into_iter().map(Into::into).collect());
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as CSV (header first, cells whole, formula-like cells neutralised because such
    /// listings end up in spreadsheets).
    pub fn to_csv(&self) -> Result<String, csv::Error> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&self.header)?;
        for row in &self.rows {
            w.write_record(
                row.iter()
                    .map(|c| crate::output::csv::neutralize(c).into_owned()),
            )?;
        }
        let bytes = w.into_inner().map_err(|e| e.into_error())?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The table as lines of text, ending with a newline.
    pub fn render(&self) -> String {
        let cut = |s: &str| -> String {
            // Cells come from untrusted files: no control character (line breaks, terminal
            // escape sequences) reaches the operator's terminal as it is.
            let one_line = crate::kernel::escape::clean(&s.replace(['\n', '\r', '\t'], " "));
            if one_line.chars().count() > self.max_width {
                let mut t: String = one_line.chars().take(self.max_width - 1).collect();
                t.push('…');
                t
            } else {
                one_line
            }
        };
        let header: Vec<String> = self.header.iter().map(|h| cut(h)).collect();
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(|c| cut(c)).collect())
            .collect();
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for row in &rows {
            for (i, cell) in row.iter().enumerate() {
                let w = cell.chars().count();
                match widths.get_mut(i) {
                    Some(max) => *max = (*max).max(w),
                    None => widths.push(w),
                }
            }
        }
        let mut out = String::new();
        let mut line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{c:<width$}", width = widths.get(i).copied().unwrap_or(0)))
                .collect();
            out.push_str(padded.join("  ").trim_end());
            out.push('\n');
        };
        line(&header);
        line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>());
        for row in &rows {
            line(row);
        }
        out
    }
}

/// The columns every table of jobs starts with (`jobs`, `run`).
pub const JOB_COLUMNS: [&str; 10] = [
    "job",
    "profile",
    "file",
    "status",
    "read",
    "filtered",
    "rejected",
    "mapped",
    "published",
    "failed",
];

/// The cells of [`JOB_COLUMNS`] for one job: published rows are counted by its status.
pub fn job_cells(
    id: i64,
    profile: &str,
    file: &str,
    status: crate::store::JobStatus,
    counts: &crate::store::Counts,
) -> Vec<String> {
    vec![
        id.to_string(),
        profile.to_string(),
        file.to_string(),
        status.as_str().to_string(),
        counts.read.to_string(),
        counts.filtered.to_string(),
        counts.rejected.to_string(),
        counts.written.to_string(),
        counts.published(status).to_string(),
        counts.failed.to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_and_cuts() {
        let mut t = TextTable::new(["id", "name"]).max_width(5);
        t.push(["1", "Ann"]);
        t.push(["22", "Bartholomew"]);
        assert_eq!(t.render(), "id  name\n--  -----\n1   Ann\n22  Bart…\n");
        assert_eq!(t.to_csv().unwrap(), "id,name\n1,Ann\n22,Bartholomew\n");
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let mut t = TextTable::new(["x"]);
        t.push(["a\u{1b}[2Jb\nc"]);
        assert_eq!(t.render(), "x\n-------------\na\\u{1b}[2Jb c\n");
    }

    #[test]
    fn csv_neutralises_formulas() {
        let mut t = TextTable::new(["x"]);
        t.push(["=1+1"]);
        assert_eq!(t.to_csv().unwrap(), "x\n'=1+1\n");
    }
}
