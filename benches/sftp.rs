//! SFTP download throughput over loopback against a real sshd: hrbridge's pipelined client,
//! russh + russh-sftp with their defaults, a naive one-request-at-a-time loop, and OpenSSH's
//! own `sftp`. Run: `cargo bench --bench sftp` (needs /usr/sbin/sshd). Prints a table.

#[path = "../tests/common/sshd.rs"]
#[allow(dead_code)]
mod sshd;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sshd::{connect_with, content, key, KeyKind, TestSshd};

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(throughput_200mb());
}

/// Throughput of a 200 MB download over loopback: hrbridge's tuned client, russh + russh-sftp
/// with their defaults, a naive one-request-at-a-time loop, and OpenSSH's own `sftp`.
async fn throughput_200mb() {
    let Some(sshd) = TestSshd::start() else {
        return;
    };
    let dir = sshd.served("bench");
    let size = 200 * 1024 * 1024;
    let data = content(size, 5);
    let remote = dir.join("big.bin");
    fs::write(&remote, &data).unwrap();
    drop(data);
    let user_key = sshd.user_key(KeyKind::Ed25519, None);
    let kh = sshd.known_hosts();
    let local_dir = tempfile::tempdir().unwrap();
    let local = local_dir.path().join("got");
    let mib = size as f64 / (1024.0 * 1024.0);
    println!("| 200 MiB over loopback | seconds | MiB/s |");
    println!("|---|---:|---:|");
    let report = |label: &str, took: Duration| {
        println!(
            "| {label} | {:.2} | {:.1} |",
            took.as_secs_f64(),
            mib / took.as_secs_f64()
        )
    };

    let client = connect_with(
        sshd.port,
        &sshd.user,
        key(user_key.clone()),
        &kh,
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    let t0 = Instant::now();
    client
        .download(remote.to_str().unwrap(), &local, size as u64)
        .await
        .unwrap();
    report("hrbridge (64 x 255 KiB in flight)", t0.elapsed());
    let t0 = Instant::now();
    client
        .upload(&local, dir.join("up.bin").to_str().unwrap())
        .await
        .unwrap();
    report("hrbridge upload (64 writes in flight)", t0.elapsed());

    for (label, concurrent) in [
        ("russh + russh-sftp defaults (16 in flight)", 16),
        ("naive sequential (1 request at a time)", 1),
    ] {
        let took = bench::plain_download(&sshd, &user_key, &remote, &local, concurrent).await;
        report(label, took);
    }

    let batch = local_dir.path().join("batch");
    fs::write(
        &batch,
        format!("get {} {}\n", remote.display(), local.display()),
    )
    .unwrap();
    let t0 = Instant::now();
    let out = std::process::Command::new("sftp")
        .args(["-q", "-b"])
        .arg(&batch)
        .arg("-i")
        .arg(&user_key)
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", kh.display()))
        .arg("-P")
        .arg(sshd.port.to_string())
        .arg(format!("{}@127.0.0.1", sshd.user))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    report("OpenSSH sftp", t0.elapsed());
}

/// A bare russh + russh-sftp download for comparison in [`throughput_200mb`].
mod bench {
    use super::*;
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    struct TrustLoopback;

    impl russh::client::Handler for TrustLoopback {
        type Error = russh::Error;

        async fn check_server_key(
            &mut self,
            _key: &russh::keys::PublicKeyOrCertificate,
        ) -> Result<bool, Self::Error> {
            Ok(true) // benchmark only, against our own loopback sshd
        }
    }

    pub async fn plain_download(
        sshd: &TestSshd,
        user_key: &Path,
        remote: &Path,
        local: &Path,
        concurrent_reads: usize,
    ) -> Duration {
        let config = Arc::new(russh::client::Config::default());
        let mut ssh = russh::client::connect(config, ("127.0.0.1", sshd.port), TrustLoopback)
            .await
            .unwrap();
        let k = russh::keys::load_secret_key(user_key, None).unwrap();
        let auth = ssh
            .authenticate_publickey(
                &sshd.user,
                russh::keys::PrivateKeyWithHashAlg::new(Arc::new(k), None),
            )
            .await
            .unwrap();
        assert!(auth.success());
        let channel = ssh.channel_open_session().await.unwrap();
        channel.request_subsystem(true, "sftp").await.unwrap();
        let cfg = russh_sftp::client::Config {
            max_concurrent_reads: concurrent_reads,
            ..Default::default()
        };
        let sftp = russh_sftp::client::SftpSession::new_with_config(channel.into_stream(), cfg)
            .await
            .unwrap();
        let t0 = Instant::now();
        let mut file = sftp.open(remote.to_str().unwrap()).await.unwrap();
        let mut buf = vec![0u8; 256 * 1024];
        let mut hash = Sha256::new();
        let mut out = tokio::fs::File::create(local).await.unwrap();
        loop {
            let n = file.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            out.write_all(&buf[..n]).await.unwrap();
        }
        out.sync_all().await.unwrap();
        let _ = hash.finalize();
        t0.elapsed()
    }
}
