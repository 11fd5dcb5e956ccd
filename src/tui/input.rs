//! Whether the operator's terminal is gone. When the terminal emulator, tmux server or SSH
//! session holding the dashboard closes, the kernel may signal only its session leader (the
//! shell), and the terminal then reads as end-of-file for ever. crossterm's default event
//! source spins on that inside its read loop and never returns (crossterm-rs/crossterm#793);
//! the `use-dev-tty` source this crate builds crossterm with returns at its timeout instead,
//! and between two waits the dashboard asks [`hung_up`] and ends, as on `q`.

use std::io::{self, IsTerminal};
use std::os::fd::AsRawFd;

/// Whether standard input is a terminal that has hung up (`false` when it is no terminal:
/// crossterm then reads `/dev/tty`, and a gone terminal is seen when writing to it fails).
pub fn hung_up() -> bool {
    let stdin = io::stdin();
    stdin.is_terminal() && hang_up_on(stdin.as_raw_fd())
}

/// Whether `fd` reports a hang-up or an error, without waiting or reading.
fn hang_up_on(fd: i32) -> bool {
    let mut watched = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: `watched` is one valid pollfd that outlives the call, and the count says one.
    let ready = unsafe { libc::poll(&mut watched, 1, 0) };
    ready > 0 && watched.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    #[test]
    fn a_closed_peer_has_hung_up_and_waiting_bytes_have_not() {
        let (mut ours, theirs) = UnixStream::pair().unwrap();
        let fd = theirs.as_raw_fd();
        assert!(!hang_up_on(fd));
        ours.write_all(b"q").unwrap();
        assert!(!hang_up_on(fd), "a key is no hang-up");
        drop(ours);
        assert!(hang_up_on(fd));
    }
}
