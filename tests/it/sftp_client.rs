//! The SFTP client against a real OpenSSH sshd on loopback: logins of every kind, host key
//! refusals, transfers, size checks, a server killed mid-download, and a 10,000-file listing.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::sshd::{connect_with, content, key, KeyKind, TestSshd, PASSWORD, PASSWORD_USER};
use crate::skip_unless_sshd;
use hrbridge::kernel::secret::{Secret, SecretRef};
use hrbridge::settings::{Settings, SettingsFile};
use hrbridge::sftp::{known_hosts, with_backoff, Auth, SftpClient, SftpError};
use sha2::{Digest, Sha256};

/// A secret as the engine gets one: through a `${env:NAME}` reference.
fn env_secret(name: &str, value: &str) -> Secret {
    // each test uses its own variable name, so parallel tests do not race on it
    std::env::set_var(name, value);
    let settings = Settings::resolve(None, PathBuf::from("/"), SettingsFile::default());
    format!("${{env:{name}}}")
        .parse::<SecretRef>()
        .unwrap()
        .resolve(&settings.state_dir)
        .unwrap()
}

async fn connect(
    sshd: &TestSshd,
    user: &str,
    auth: Auth,
    known_hosts: &Path,
) -> Result<SftpClient, SftpError> {
    connect_to(sshd.port, user, auth, known_hosts).await
}

/// The test user, logged in with an ed25519 key against the server's known host key.
async fn connect_ed25519(sshd: &TestSshd) -> SftpClient {
    connect(
        sshd,
        &sshd.user,
        key(sshd.user_key(KeyKind::Ed25519, None)),
        &sshd.known_hosts(),
    )
    .await
    .unwrap()
}

async fn connect_to(
    port: u16,
    user: &str,
    auth: Auth,
    known_hosts: &Path,
) -> Result<SftpClient, SftpError> {
    connect_with(port, user, auth, known_hosts, Duration::from_secs(10)).await
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn fingerprint_of(pub_line: &str) -> String {
    known_hosts::fingerprint(&russh::keys::PublicKey::from_openssh(pub_line).unwrap())
}

/// Lists `dir`, downloads `name` and checks bytes, hash, and the local mode.
async fn fetch_and_check(client: &SftpClient, dir: &Path, name: &str, expected: &[u8]) {
    let entries = client.list(dir.to_str().unwrap()).await.unwrap();
    let entry = entries.iter().find(|e| e.name == name).expect("listed");
    assert!(entry.is_file);
    assert_eq!(entry.size, expected.len() as u64);
    assert!(entry.mtime > 1_600_000_000, "mtime {}", entry.mtime);
    let local_dir = tempfile::tempdir().unwrap();
    let local = local_dir.path().join("got");
    let remote = dir.join(name);
    let t = client
        .download(remote.to_str().unwrap(), &local, entry.size)
        .await
        .unwrap();
    assert_eq!(t.bytes, expected.len() as u64);
    assert_eq!(t.sha256, sha256_hex(expected));
    assert_eq!(fs::read(&local).unwrap(), expected);
    let mode = fs::metadata(&local).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_logins_of_every_type_list_and_download() {
    let sshd = skip_unless_sshd!();
    let dir = sshd.served("keys");
    let data = content(300_000, 1);
    fs::write(dir.join("hires.csv"), &data).unwrap();
    let kh = sshd.known_hosts();
    for kind in [KeyKind::Ed25519, KeyKind::Rsa, KeyKind::Ecdsa] {
        let client = connect(&sshd, &sshd.user, key(sshd.user_key(kind, None)), &kh)
            .await
            .unwrap_or_else(|e| panic!("{kind:?}: {e}\n{}", sshd.log()));
        fetch_and_check(&client, &dir, "hires.csv", &data).await;
        client.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passphrase_key_with_passphrase_from_env() {
    let sshd = skip_unless_sshd!();
    let dir = sshd.served("pp");
    fs::write(dir.join("a.csv"), b"id\n1\n").unwrap();
    let path = sshd.user_key(KeyKind::Ed25519, Some("correct horse"));
    let kh = sshd.known_hosts();
    let wrong = Auth::Key {
        path: path.clone(),
        passphrase: Some(env_secret("HRBRIDGE_TEST_PP_WRONG", "battery staple")),
    };
    let err = connect(&sshd, &sshd.user, wrong, &kh).await.err().unwrap();
    assert!(matches!(err, SftpError::Auth { .. }), "{err}");
    assert!(!err.to_string().contains("battery staple"), "{err}");
    let right = Auth::Key {
        path,
        passphrase: Some(env_secret("HRBRIDGE_TEST_PP_RIGHT", "correct horse")),
    };
    let client = connect(&sshd, &sshd.user, right, &kh).await.unwrap();
    fetch_and_check(&client, &dir, "a.csv", b"id\n1\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_login() {
    let sshd = skip_unless_sshd!();
    if !sshd.ensure_password_user() {
        return;
    }
    let dir = sshd.served("pw");
    fs::write(dir.join("p.csv"), b"x,y\n").unwrap();
    fs::set_permissions(dir.join("p.csv"), fs::Permissions::from_mode(0o644)).unwrap();
    let kh = sshd.known_hosts();
    let bad = Auth::Password(env_secret("HRBRIDGE_TEST_PW_BAD", "not-it"));
    let err = connect(&sshd, PASSWORD_USER, bad, &kh).await.err().unwrap();
    assert!(matches!(err, SftpError::Auth { .. }), "{err}");
    assert!(!err.is_transient());
    let good = Auth::Password(env_secret("HRBRIDGE_TEST_PW_GOOD", PASSWORD));
    let client = connect(&sshd, PASSWORD_USER, good, &kh)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", sshd.log()));
    fetch_and_check(&client, &dir, "p.csv", b"x,y\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_host_key_is_refused_until_added() {
    let sshd = skip_unless_sshd!();
    let user_key = sshd.user_key(KeyKind::Ed25519, None);
    let kh = sshd.known_hosts_with("empty_known_hosts", "# nothing yet\n");
    let expected_fp = fingerprint_of(&sshd.host_key_line());
    let err = connect(&sshd, &sshd.user, key(user_key.clone()), &kh)
        .await
        .err()
        .unwrap();
    match &err {
        SftpError::HostKeyUnknown {
            host,
            port,
            fingerprint,
        } => {
            assert_eq!((host.as_str(), *port), ("127.0.0.1", sshd.port));
            assert_eq!(fingerprint, &expected_fp);
        }
        other => panic!("expected HostKeyUnknown, got {other}"),
    }
    let msg = err.to_string();
    assert!(msg.contains(&expected_fp) && msg.contains("hrbridge known-hosts add 127.0.0.1:"));
    assert!(!err.is_transient());
    // the operator's path: see the key, check its fingerprint, add it
    let offered = hrbridge::sftp::host_key_of("127.0.0.1", sshd.port, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(known_hosts::fingerprint(&offered), expected_fp);
    known_hosts::append(&kh, "127.0.0.1", sshd.port, &offered).unwrap();
    let client = connect(&sshd, &sshd.user, key(user_key), &kh)
        .await
        .unwrap();
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_and_revoked_host_keys_are_refused() {
    let sshd = skip_unless_sshd!();
    let user_key = sshd.user_key(KeyKind::Ed25519, None);
    let wrong = sshd.known_hosts_wrong_key();
    let err = connect(&sshd, &sshd.user, key(user_key.clone()), &wrong)
        .await
        .err()
        .unwrap();
    match &err {
        SftpError::HostKeyChanged {
            fingerprint,
            expected,
            ..
        } => {
            assert_eq!(fingerprint, &fingerprint_of(&sshd.host_key_line()));
            assert_eq!(expected.len(), 1);
            assert_ne!(expected.first(), Some(fingerprint));
        }
        other => panic!("expected HostKeyChanged, got {other}"),
    }
    let revoked = sshd.known_hosts_with(
        "revoked_known_hosts",
        &format!(
            "{p} {k}\n@revoked * {k}\n",
            p = sshd.host_pattern(),
            k = sshd.host_key_line()
        ),
    );
    let err = connect(&sshd, &sshd.user, key(user_key), &revoked)
        .await
        .err()
        .unwrap();
    assert!(matches!(err, SftpError::HostKeyRevoked { .. }), "{err}");
    // no credential was offered to a server we did not trust
    assert!(!sshd.log().contains("Accepted publickey"), "{}", sshd.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashed_and_bracketed_known_hosts_entries_are_accepted() {
    let sshd = skip_unless_sshd!();
    let user_key = sshd.user_key(KeyKind::Ed25519, None);
    for kh in [sshd.known_hosts_hashed(), sshd.known_hosts()] {
        let client = connect(&sshd, &sshd.user, key(user_key.clone()), &kh)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", kh.display()));
        client.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_renames_into_place_also_over_an_existing_file() {
    let sshd = skip_unless_sshd!();
    let client = connect_ed25519(&sshd).await;
    let remote_dir = sshd.served("upload");
    let target = remote_dir.join("payroll.csv");
    let local_dir = tempfile::tempdir().unwrap();
    for (round, len) in [(1u64, 3_000_000usize), (2, 1_234_567)] {
        let data = content(len, round);
        let local = local_dir.path().join(format!("out{round}.csv"));
        fs::write(&local, &data).unwrap();
        let t = client
            .upload(&local, target.to_str().unwrap())
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(t.bytes, len as u64);
        assert_eq!(t.sha256, sha256_hex(&data));
        assert_eq!(fs::read(&target).unwrap(), data, "round {round}");
        let names: Vec<String> = fs::read_dir(&remote_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["payroll.csv".to_string()], "no part file left");
    }
    // remove and rename work on their own, and a missing file says so
    client
        .rename(
            target.to_str().unwrap(),
            remote_dir.join("moved.csv").to_str().unwrap(),
        )
        .await
        .unwrap();
    client
        .remove(remote_dir.join("moved.csv").to_str().unwrap())
        .await
        .unwrap();
    let err = client
        .remove(remote_dir.join("moved.csv").to_str().unwrap())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_mismatch_leaves_no_local_file() {
    let sshd = skip_unless_sshd!();
    let dir = sshd.served("size");
    fs::write(dir.join("f.csv"), content(1000, 3)).unwrap();
    let client = connect_ed25519(&sshd).await;
    let local_dir = tempfile::tempdir().unwrap();
    let local = local_dir.path().join("f.part");
    let remote = dir.join("f.csv");
    for expected in [999u64, 1001] {
        let err = client
            .download(remote.to_str().unwrap(), &local, expected)
            .await
            .unwrap_err();
        match err {
            SftpError::SizeMismatch {
                expected: e, got, ..
            } => assert_eq!((e, got), (expected, 1000)),
            other => panic!("expected SizeMismatch, got {other}"),
        }
        assert!(!local.exists(), "partial file left behind");
    }
    let err = client
        .download(dir.join("absent.csv").to_str().unwrap(), &local, 1)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(!local.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_mid_download_then_fetched_after_restart() {
    let mut sshd = skip_unless_sshd!();
    let (port, user) = (sshd.port, sshd.user.clone());
    let dir = sshd.served("kill");
    let data = content(50 * 1024 * 1024, 4);
    let remote = dir.join("big.csv");
    fs::write(&remote, &data).unwrap();
    let user_key = sshd.user_key(KeyKind::Ed25519, None);
    let kh = sshd.known_hosts();
    let client = connect(&sshd, &sshd.user, key(user_key.clone()), &kh)
        .await
        .unwrap();
    let local_dir = tempfile::tempdir().unwrap();
    let local = local_dir.path().join("big.part");
    let (remote_s, local_c) = (remote.to_str().unwrap().to_string(), local.clone());
    let size = data.len() as u64;
    let download = tokio::spawn(async move { client.download(&remote_s, &local_c, size).await });
    let started = Instant::now();
    while fs::metadata(&local).map(|m| m.len()).unwrap_or(0) < 4 * 1024 * 1024 {
        assert!(!download.is_finished(), "download ended before the kill");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "download stalled"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    sshd.stop();
    let err = tokio::time::timeout(Duration::from_secs(20), download)
        .await
        .expect("download noticed the dead server")
        .unwrap()
        .unwrap_err();
    assert!(err.is_transient(), "a dead server is worth retrying: {err}");
    assert!(!local.exists(), "partial download left behind");
    let refused = connect(&sshd, &sshd.user, key(user_key.clone()), &kh)
        .await
        .err()
        .unwrap();
    assert!(matches!(refused, SftpError::Connect { .. }), "{refused}");
    assert!(refused.is_transient());
    // the server comes back while the client is backing off
    let restarter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        sshd.restart();
        sshd
    });
    let client = with_backoff(
        20,
        Duration::from_millis(50),
        Duration::from_millis(400),
        || connect_to(port, &user, key(user_key.clone()), &kh),
    )
    .await
    .unwrap();
    let _sshd = restarter.join().unwrap();
    let t = client
        .download(remote.to_str().unwrap(), &local, size)
        .await
        .unwrap();
    assert_eq!(t.sha256, sha256_hex(&data));
    assert_eq!(fs::metadata(&local).unwrap().len(), size);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_entries_and_hostile_names_are_listed_as_sent() {
    let sshd = skip_unless_sshd!();
    let dir = sshd.served("many");
    for i in 0..10_000 {
        fs::write(dir.join(format!("f{i:05}.csv")), b"1").unwrap();
    }
    fs::write(dir.join("..hidden\nname"), b"22").unwrap();
    fs::create_dir(dir.join("sub")).unwrap();
    let client = connect_ed25519(&sshd).await;
    let started = Instant::now();
    let entries = client.list(dir.to_str().unwrap()).await.unwrap();
    eprintln!(
        "listed {} entries in {:?}",
        entries.len(),
        started.elapsed()
    );
    assert_eq!(entries.len(), 10_002);
    assert_eq!(
        entries.iter().filter(|e| e.is_file && e.size == 1).count(),
        10_000
    );
    assert!(entries.iter().any(|e| e.name == "sub" && !e.is_file));
    let hostile = entries
        .iter()
        .find(|e| e.name == "..hidden\nname")
        .expect("names come back as sent");
    assert!(hrbridge::source::names::check_name(&hostile.name).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hung_server_times_out_instead_of_hanging() {
    // a port that accepts but never speaks SSH
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known_hosts");
    let started = Instant::now();
    let err = connect_with(port, "nobody", key(kh.clone()), &kh, Duration::from_secs(1))
        .await
        .err()
        .unwrap();
    assert!(matches!(err, SftpError::Timeout { .. }), "{err}");
    assert!(err.is_transient());
    assert!(started.elapsed() < Duration::from_secs(5));

    // a real server whose connection freezes in the middle of a transfer
    let sshd = skip_unless_sshd!();
    let served = sshd.served("hang");
    let size = 30 * 1024 * 1024;
    fs::write(served.join("big.csv"), content(size, 6)).unwrap();
    let client = connect_with(
        sshd.port,
        &sshd.user,
        key(sshd.user_key(KeyKind::Ed25519, None)),
        &sshd.known_hosts(),
        Duration::from_secs(2),
    )
    .await
    .unwrap();
    let local = dir.path().join("big.part");
    let remote = served.join("big.csv").to_str().unwrap().to_string();
    let local_c = local.clone();
    let download =
        tokio::spawn(async move { client.download(&remote, &local_c, size as u64).await });
    while fs::metadata(&local).map(|m| m.len()).unwrap_or(0) < 1024 * 1024 {
        assert!(!download.is_finished(), "download ended before the freeze");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    sshd.freeze_connections();
    let frozen_at = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(20), download)
        .await
        .expect("request timeout fired")
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, SftpError::Timeout { .. }), "{err}");
    assert!(frozen_at.elapsed() < Duration::from_secs(10));
    assert!(!local.exists());
}
