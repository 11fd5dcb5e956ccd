//! Where input files come from, and the checks every incoming file goes through.
//!
//! `open` names the kinds of `[source]` (dir, sftp) and turns a spec into the [`open::Source`]
//! everything else asks. `dir` finds complete files in an inbox folder, `sftp` lists, settles
//! and fetches the files of an SFTP source folder and runs their `after` actions, `names`
//! decides which names are safe, `writers` whether a writer still holds a file open, `decrypt`
//! loads the identities that open `.age` inputs, and `staging` takes the private, hashed,
//! encrypted copy a job reads.

pub mod decrypt;
pub mod dir;
pub mod names;
pub mod open;
pub mod sftp;
pub mod staging;
pub mod writers;

use crate::profile::{KeyPath, Problem, Profile, SftpConnectionSpec};

/// Semantic checks of a profile's `[source]`.
pub fn check(profile: &Profile) -> Vec<Problem> {
    let mut problems = Vec::new();
    let at = KeyPath::root().key("source");
    let source = open::open(&profile.source);
    problems.extend(source.check(&at));
    let pattern = source.pattern();
    if let Err(e) = dir::matcher(pattern) {
        problems.push(Problem::new(at.clone().key("pattern"), e.to_string()));
    }
    if pattern.contains('/') {
        problems.push(Problem::new(
            at.clone().key("pattern"),
            "pattern matches file names in the source folder; it cannot contain `/`",
        ));
    }
    problems
}

/// Checks of the SFTP connection keys of the table at `at` (a source or an output).
pub fn check_connection(conn: &SftpConnectionSpec, at: &KeyPath) -> Vec<Problem> {
    let mut problems = Vec::new();
    match (&conn.private_key, &conn.password) {
        (None, None) => problems.push(Problem::new(
            at.clone().key("host"),
            "give `private_key` (a key file) or `password` (\"${secret:NAME}\") to log in",
        )),
        (Some(_), Some(_)) => problems.push(Problem::new(
            at.clone().key("password"),
            "give `private_key` or `password`, not both",
        )),
        _ => {}
    }
    if conn.passphrase.is_some() && conn.private_key.is_none() {
        problems.push(Problem::new(
            at.clone().key("passphrase"),
            "`passphrase` unlocks `private_key`, which is not set",
        ));
    }
    if conn.host.is_empty() || conn.host.contains(|c: char| c.is_whitespace() || c == '/') {
        problems.push(Problem::new(
            at.clone().key("host"),
            "not a host name or address",
        ));
    }
    problems
}

/// A suffix appended to a file name that cannot point anywhere else.
fn is_plain_suffix(s: &str) -> bool {
    !s.is_empty() && !s.contains(['/', '\\', '\0']) && !s.contains("..")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(source: &str) -> Profile {
        let text = format!(
            "{source}\n[[field]]\nname = \"id\"\nfrom = \"ID\"\n[[output]]\ntype = \"file\"\npath = \"o.csv\"\n"
        );
        toml::from_str(&text).unwrap()
    }

    fn paths(p: &[Problem]) -> Vec<String> {
        p.iter().map(|p| p.at.to_string()).collect()
    }

    #[test]
    fn done_marker_must_be_a_plain_suffix() {
        for bad in ["", "/x", "..done", "a\\\\b"] {
            let p = profile(&format!(
                "[source]\ntype = \"dir\"\npath = \"in\"\ndone_marker = \"{bad}\""
            ));
            assert_eq!(paths(&check(&p)), ["source.done_marker"], "{bad:?}");
        }
        assert!(is_plain_suffix(".done"));
        assert!(is_plain_suffix(".ok.txt"));
    }

    #[test]
    fn sftp_sources_need_one_way_to_log_in_and_an_absolute_path() {
        let base = "[source]\ntype = \"sftp\"\nhost = \"sftp.example.com\"\nuser = \"u\"\nknown_hosts = \"kh\"";
        let none = profile(&format!("{base}\npath = \"/x\""));
        assert_eq!(paths(&check(&none)), ["source.host"]);
        let both = profile(&format!(
            "{base}\npath = \"x\"\nprivate_key = \"k\"\npassword = \"${{secret:pw}}\""
        ));
        assert_eq!(paths(&check(&both)), ["source.password", "source.path"]);
        let ok = profile(&format!(
            "{base}\npath = \"/x\"\nprivate_key = \"k\"\nafter = \"move:/done\""
        ));
        assert!(check(&ok).is_empty(), "{:?}", check(&ok));
    }

    #[test]
    fn inline_secrets_and_unknown_keys_are_refused_when_reading() {
        let text = "[source]\ntype = \"sftp\"\nhost = \"h\"\nuser = \"u\"\nknown_hosts = \"kh\"\npath = \"/x\"\npassword = \"hunter2\"\n[[field]]\nname = \"id\"\nfrom = \"ID\"\n[[output]]\ntype = \"file\"\npath = \"o.csv\"\n";
        let err = toml::from_str::<Profile>(text).unwrap_err().to_string();
        assert!(
            err.contains("never written inline") && !err.contains("hunter2"),
            "{err}"
        );
        let typo = text.replace("password = \"hunter2\"", "pasword = \"${secret:pw}\"");
        let err = toml::from_str::<Profile>(&typo).unwrap_err().to_string();
        assert!(err.contains("pasword"), "{err}");
    }
}
