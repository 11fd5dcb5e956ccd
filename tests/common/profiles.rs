//! Profile TOML that many tests start from, built here instead of pasted into each test file.
//! Each builder returns the text a test used to spell out, byte for byte, so that the line and
//! column numbers `hrbridge check` reports stay where the tests expect them; callers put extra
//! keys before it (top-level keys such as `schedule`) or after it (more keys for the last table,
//! more tables).

/// The smallest profile that runs: the folder `inbox/<name>`, one field `id` from column `ID`,
/// one file output at `output` (a name template).
pub fn ids_to_file(name: &str, output: &str) -> String {
    format!(
        "[source]\ntype = \"dir\"\npath = \"inbox/{name}\"\n[[field]]\nname = \"id\"\nfrom = \"ID\"\n[[output]]\ntype = \"file\"\npath = \"{output}\"\n"
    )
}

/// A folder `inbox/<name>` watched for `pattern` (settled after a second) whose rows need an
/// `employee_id` from column `ID`; then `fields` (more `[[field]]` tables, each followed by a
/// blank line) and one file output at `output`.
pub fn watched_employees(name: &str, pattern: &str, fields: &str, output: &str) -> String {
    format!(
        r#"
[source]
type = "dir"
path = "inbox/{name}"
pattern = "{pattern}"
settle = "1s"

[[field]]
name = "employee_id"
from = "ID"
required = true

{fields}[[output]]
type = "file"
path = "{output}"
"#
    )
}

/// The opening of the API profiles: the folder `inbox/<name>` and its key, `employee_id` from
/// column `Employee ID`; the caller goes on with more keys of that field, more fields and the
/// output.
pub fn keyed_by_employee_id(name: &str) -> String {
    format!(
        r#"
[source]
type = "dir"
path = "inbox/{name}"

[[field]]
name = "employee_id"
from = "Employee ID"
key = true
"#
    )
}

/// The roster of the crash and job fault tests: `*.csv` in `inbox/roster`, an `id` key and a
/// trimmed, upper-cased `name`, one file output at `output`.
pub fn roster(output: &str) -> String {
    format!(
        r#"
[source]
type = "dir"
path = "inbox/roster"
pattern = "*.csv"
settle = "1s"
[[field]]
name = "id"
from = "ID"
key = true
[[field]]
name = "name"
from = "Name"
transform = ["trim", "upper"]
[[output]]
type = "file"
path = "{output}"
"#
    )
}

/// A `[lifecycle]` roster (`inbox/people`, an `id` key, a `pii` SSN, a department) whose
/// changes go to `outbox/changes_{seq}.csv`; more than 20 % leavers holds a job.
pub const LIFECYCLE_PEOPLE: &str = r#"
[source]
type = "dir"
path = "inbox/people"
[lifecycle]
mode = "snapshot"
max_leavers = "20%"
[[field]]
name = "id"
from = "ID"
key = true
required = true
[[field]]
name = "ssn"
from = "SSN"
pii = true
[[field]]
name = "department"
from = "Department"
[[output]]
type = "file"
path = "outbox/changes_{seq}.csv"
"#;
