//! A real OpenSSH `sshd` on a loopback port, for tests that must talk to a real SFTP server.
//!
//! Each [`TestSshd`] has its own temp folder with a throwaway host key, its own config,
//! authorized_keys and log, and serves the whole filesystem over `internal-sftp` (so tests use
//! absolute temp paths). It runs in the foreground as a child of the test and is killed, with
//! every per-connection process it forked, by [`TestSshd::stop`] or on drop.
//!
//! Without `/usr/sbin/sshd` the tests skip with a notice, except under `CI=true`, where that is
//! a failure (CI installs `openssh-server`). Password logins need a local user with a known
//! password: when running as root the harness creates `hrbridge-sftp` (no home, no shell,
//! sftp only) and sets its password; otherwise password tests skip.

use std::fs;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";
/// The local user for password logins.
pub const PASSWORD_USER: &str = "hrbridge-sftp";
/// Its password (a test machine's throwaway account; sftp only, loopback only).
pub const PASSWORD: &str = "hrbridge-sftp-test-Pw-4121";
/// Held while [`TestSshd::ensure_password_user`] sets the account up.
static PASSWORD_USER_SETUP: Mutex<()> = Mutex::new(());

/// User key types the harness can make.
#[derive(Debug, Clone, Copy)]
pub enum KeyKind {
    Ed25519,
    Rsa,
    Ecdsa,
}

/// The opening of an SFTP test: `let sshd = skip_unless_sshd!();` starts a [`TestSshd`], or
/// returns from the test (after the notice) when sshd is not installed. Under `CI=true` a
/// missing sshd fails the test instead ([`TestSshd::start`] panics): CI never skips it.
#[macro_export]
macro_rules! skip_unless_sshd {
    () => {
        match $crate::common::sshd::TestSshd::start() {
            Some(sshd) => sshd,
            None => return,
        }
    };
}

/// A running sshd on 127.0.0.1.
pub struct TestSshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// The user the tests log in as with keys: whoever runs the tests.
    pub user: String,
    child: Option<Child>,
}

impl TestSshd {
    /// Starts a server, or returns `None` (after a notice) when sshd is not installed and this
    /// is not CI. Under `CI=true` a missing sshd panics.
    pub fn start() -> Option<TestSshd> {
        if !Path::new(SSHD).exists() {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{SSHD} is missing: CI must install openssh-server for the SFTP tests");
            }
            eprintln!(
                "NOTICE: {SSHD} not found; skipping SFTP test (apt-get install openssh-server)"
            );
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        run(
            "ssh-keygen",
            &["-q", "-t", "ed25519", "-N", "", "-C", "testhost", "-f"],
            &dir.path().join("host_ed25519"),
        );
        fs::write(dir.path().join("authorized_keys"), "").unwrap();
        if is_root() {
            // sshd insists on its privilege separation folder
            fs::create_dir_all("/run/sshd").unwrap();
        }
        let mut sshd = TestSshd {
            port: free_port(),
            user: whoami(),
            dir,
            child: None,
        };
        sshd.write_config();
        sshd.spawn();
        Some(sshd)
    }

    fn write_config(&self) {
        let d = self.dir.path().display();
        let config = format!(
            "ListenAddress 127.0.0.1\n\
             Port {port}\n\
             HostKey {d}/host_ed25519\n\
             PidFile {d}/sshd.pid\n\
             AuthorizedKeysFile {d}/authorized_keys\n\
             StrictModes no\n\
             UsePAM no\n\
             PasswordAuthentication yes\n\
             KbdInteractiveAuthentication no\n\
             PermitRootLogin yes\n\
             Subsystem sftp internal-sftp\n\
             LogLevel VERBOSE\n\
             Match User {PASSWORD_USER}\n\
             \tForceCommand internal-sftp\n",
            port = self.port
        );
        fs::write(self.dir.path().join("sshd_config"), config).unwrap();
    }

    fn spawn(&mut self) {
        let d = self.dir.path();
        let child = Command::new(SSHD)
            .arg("-D")
            .arg("-f")
            .arg(d.join("sshd_config"))
            .arg("-E")
            .arg(d.join("sshd.log"))
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn sshd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("sshd exited with {status}; log:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "sshd did not listen; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills sshd and every connection it is serving (as a crashed or rebooted server would).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let mut pids = descendants(child.id());
        pids.push(child.id());
        let list: Vec<String> = pids.iter().map(u32::to_string).collect();
        let _ = Command::new("kill")
            .arg("-KILL")
            .args(&list)
            .stderr(Stdio::null())
            .status();
        let _ = child.wait();
    }

    /// Freezes (SIGSTOP) every connection sshd is serving: sockets stay open but nothing
    /// answers, as with a hung server. [`TestSshd::stop`] still kills them.
    pub fn freeze_connections(&self) {
        let Some(child) = self.child.as_ref() else {
            return;
        };
        let list: Vec<String> = descendants(child.id()).iter().map(u32::to_string).collect();
        assert!(!list.is_empty(), "no connection to freeze");
        let status = Command::new("kill")
            .arg("-STOP")
            .args(&list)
            .status()
            .unwrap();
        assert!(status.success(), "kill -STOP failed");
    }

    /// Starts sshd again on the same port with the same keys.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// sshd's log so far (for assertion messages).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// The server's host key as `type base64`.
    pub fn host_key_line(&self) -> String {
        key_line(&self.dir.path().join("host_ed25519.pub"))
    }

    /// The `[127.0.0.1]:PORT` name known_hosts uses for this server.
    pub fn host_pattern(&self) -> String {
        format!("[127.0.0.1]:{}", self.port)
    }

    /// Writes `text` as a known_hosts file and returns its path.
    pub fn known_hosts_with(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        fs::write(&path, text).unwrap();
        path
    }

    /// known_hosts with the plain `[127.0.0.1]:PORT key` entry.
    pub fn known_hosts(&self) -> PathBuf {
        let line = format!("{} {}\n", self.host_pattern(), self.host_key_line());
        self.known_hosts_with("known_hosts", &line)
    }

    /// known_hosts with the entry hashed by `ssh-keygen -H`.
    pub fn known_hosts_hashed(&self) -> PathBuf {
        let line = format!("{} {}\n", self.host_pattern(), self.host_key_line());
        let path = self.known_hosts_with("known_hosts_hashed", &line);
        run("ssh-keygen", &["-q", "-H", "-f"], &path);
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("|1|"),
            "ssh-keygen -H did not hash: {text}"
        );
        path
    }

    /// known_hosts holding a different ed25519 key for this server (a "changed" key).
    pub fn known_hosts_wrong_key(&self) -> PathBuf {
        let other = self.dir.path().join("other_host_key");
        run(
            "ssh-keygen",
            &["-q", "-t", "ed25519", "-N", "", "-f"],
            &other,
        );
        let line = format!(
            "{} {}\n",
            self.host_pattern(),
            key_line(&other.with_extension("pub"))
        );
        self.known_hosts_with("known_hosts_wrong", &line)
    }

    /// The profile lines logging in as the harness user with its ed25519 key (made once per
    /// server: the key file is reused).
    pub fn key_login(&self) -> String {
        let made = self.dir.path().join("id_ed25519");
        let key = if made.exists() {
            made
        } else {
            self.user_key(KeyKind::Ed25519, None)
        };
        format!(
            "user = \"{}\"\nprivate_key = \"{}\"",
            self.user,
            key.display()
        )
    }

    /// Makes a user key (optionally passphrase-protected) and authorizes it; returns its path.
    pub fn user_key(&self, kind: KeyKind, passphrase: Option<&str>) -> PathBuf {
        let (name, args): (&str, &[&str]) = match kind {
            KeyKind::Ed25519 => ("id_ed25519", &["-t", "ed25519"]),
            KeyKind::Rsa => ("id_rsa", &["-t", "rsa", "-b", "2048"]),
            KeyKind::Ecdsa => ("id_ecdsa", &["-t", "ecdsa", "-b", "256"]),
        };
        let path = self.dir.path().join(name);
        let mut all = vec!["-q", "-C", "test", "-N", passphrase.unwrap_or("")];
        all.extend_from_slice(args);
        all.push("-f");
        run("ssh-keygen", &all, &path);
        let public = fs::read_to_string(path.with_extension("pub")).unwrap();
        fs::OpenOptions::new()
            .append(true)
            .open(self.dir.path().join("authorized_keys"))
            .unwrap()
            .write_all(public.as_bytes())
            .unwrap();
        path
    }

    /// A fresh folder of test files, readable by every local user (the password user too).
    pub fn served(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join("files").join(name);
        fs::create_dir_all(&path).unwrap();
        for p in [self.dir.path(), &self.dir.path().join("files"), &path] {
            fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
        }
        path
    }

    /// Makes sure [`PASSWORD_USER`] exists with [`PASSWORD`]; `false` when that needs root
    /// and we are not root.
    pub fn ensure_password_user(&self) -> bool {
        if !is_root() {
            eprintln!("NOTICE: not root; skipping password login test");
            return false;
        }
        // the SFTP tests run in parallel threads of one process: one at a time runs useradd and
        // chpasswd (both take the password files' locks, and a second one may fail to get them)
        let _one_at_a_time = PASSWORD_USER_SETUP
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let exists = Command::new("id")
            .arg("-u")
            .arg(PASSWORD_USER)
            .output()
            .unwrap()
            .status
            .success();
        if !exists {
            let status = Command::new("useradd")
                .args(["-M", "-s", "/usr/sbin/nologin", PASSWORD_USER])
                .status()
                .unwrap();
            // a parallel test may have created it in between
            let now = Command::new("id")
                .arg("-u")
                .arg(PASSWORD_USER)
                .output()
                .unwrap()
                .status
                .success();
            assert!(status.success() || now, "useradd {PASSWORD_USER} failed");
        }
        let mut chpasswd = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        chpasswd
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{PASSWORD_USER}:{PASSWORD}\n").as_bytes())
            .unwrap();
        assert!(chpasswd.wait().unwrap().success(), "chpasswd failed");
        true
    }
}

impl Drop for TestSshd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(program: &str, args: &[&str], path: &Path) {
    let out = Command::new(program)
        .args(args)
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn key_line(pub_file: &Path) -> String {
    let text = fs::read_to_string(pub_file).unwrap();
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn whoami() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// Every process below `root`, found through /proc (sshd's per-connection children do not
/// die with it, and re-parent once it is gone, so collect them first).
fn descendants(root: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces, so split after the last ')'
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            parent_of.push((pid, ppid));
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while let Some(&p) = found.get(i) {
        found.extend(
            parent_of
                .iter()
                .filter(|(_, pp)| *pp == p)
                .map(|(pid, _)| *pid),
        );
        i += 1;
    }
    found.retain(|p| *p != root);
    found
}

/// Key login with an unencrypted key file.
pub fn key(path: PathBuf) -> hrbridge::sftp::Auth {
    hrbridge::sftp::Auth::Key {
        path,
        passphrase: None,
    }
}

/// Logs in to a server on 127.0.0.1 with hrbridge's client.
pub async fn connect_with(
    port: u16,
    user: &str,
    auth: hrbridge::sftp::Auth,
    known_hosts: &Path,
    timeout: Duration,
) -> Result<hrbridge::sftp::SftpClient, hrbridge::sftp::SftpError> {
    hrbridge::sftp::SftpClient::connect(hrbridge::sftp::Connection {
        host: "127.0.0.1",
        port,
        user,
        auth,
        known_hosts,
        connect_timeout: timeout,
        timeout,
    })
    .await
}

/// Deterministic, incompressible-looking content of `len` bytes.
pub fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
