//! What the benchmarks measure of an `hrbridge` child process: its wall time and its peak RSS
//! (the kernel's VmHWM, sampled every 20 ms until it exits), and how many lines it wrote.
//! Shared by the benchmarks with `#[path]`.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `hrbridge ARGS` in `root`, which must succeed (`what` names it when it does not): its wall
/// time in seconds and its peak RSS in KiB.
pub fn measure(bin: &str, root: &Path, args: &[&str], what: &str) -> (f64, u64) {
    let started = Instant::now();
    let mut child = Command::new(bin)
        .args(args)
        .current_dir(root)
        .stdout(Stdio::null())
        .spawn()
        .expect("start hrbridge");
    let pid = child.id();
    let mut peak_kb = 0u64;
    let status = loop {
        if let Some(kb) = vm_hwm_kb(pid) {
            peak_kb = peak_kb.max(kb);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "hrbridge failed on {what}");
    (started.elapsed().as_secs_f64(), peak_kb)
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The number of lines (newlines) `file` holds.
pub fn count_lines(mut file: impl std::io::Read) -> u64 {
    let mut buf = vec![0u8; 1 << 20];
    let mut lines = 0u64;
    loop {
        let n = file.read(&mut buf).expect("read output");
        if n == 0 {
            return lines;
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}
