//! `hrbridge secrets set|list|rm`: the installation's encrypted secrets store, which
//! `${secret:NAME}` in profiles reads.
//!
//! A value comes from standard input when that is not a terminal (`... | hrbridge secrets set
//! NAME`), otherwise from a prompt that does not echo — never from the command line, where
//! process listings and shell history would keep it. Values are never printed. Every change
//! is made under the state folder's lock and audited with the secret's name and the OS user.

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;

use zeroize::Zeroizing;

use super::{print_diagnostics, Exit};
use crate::engine::control::os_user;
use crate::engine::event::Event;
use crate::engine::runner::lock_state;
use crate::kernel::secret::{check_name, SecretStore};
use crate::profile::load;
use crate::settings::Settings;
use crate::store::Store;

/// The longest value accepted, in bytes (keys, tokens and passwords are far shorter).
const MAX_VALUE_BYTES: usize = 64 << 10;

/// `hrbridge secrets set NAME`.
pub fn set(config: Option<&Path>, name: &str) -> Exit {
    let Some(settings) = settings_for(config, name) else {
        return Exit::Usage;
    };
    let value = match read_value(name) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: secret {name}: {e}");
            return Exit::Failed;
        }
    };
    match store_secret(&settings, name, value) {
        Ok(()) => {
            eprintln!("secret {name} stored in {}", shown_store(&settings));
            Exit::Ok
        }
        Err(e) => {
            eprintln!("error: secret {name}: {e}");
            Exit::Failed
        }
    }
}

/// `hrbridge secrets list`: the names, one a line.
pub fn list(config: Option<&Path>) -> Exit {
    let Some(settings) = settings(config) else {
        return Exit::Usage;
    };
    match SecretStore::open(&settings.state_dir) {
        Ok(store) => {
            let mut any = false;
            for name in store.names() {
                println!("{name}");
                any = true;
            }
            if !any {
                eprintln!("no secrets in {}", shown_store(&settings));
            }
            Exit::Ok
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Failed
        }
    }
}

/// `hrbridge secrets rm NAME`: exit 1 when there is no such secret.
pub fn remove(config: Option<&Path>, name: &str) -> Exit {
    let Some(settings) = settings_for(config, name) else {
        return Exit::Usage;
    };
    let removed = change(
        &settings,
        name,
        |secrets| secrets.remove(name),
        |name, user| Event::SecretRemoved { name, user },
    );
    match removed {
        Ok(true) => {
            eprintln!("secret {name} removed");
            Exit::Ok
        }
        Ok(false) => {
            eprintln!("error: there is no secret {name}; `hrbridge secrets list` shows the names");
            Exit::Failed
        }
        Err(e) => {
            eprintln!("error: secret {name}: {e}");
            Exit::Failed
        }
    }
}

/// Stores `value` as `name` under the state folder's lock and audits it (also used by the
/// demo to store its stand-in's client secret).
pub(super) fn store_secret(
    settings: &Settings,
    name: &str,
    value: Zeroizing<String>,
) -> Result<(), Box<dyn std::error::Error>> {
    change(
        settings,
        name,
        |secrets| secrets.set(name, value).map(|()| true),
        |name, user| Event::SecretSet { name, user },
    )?;
    Ok(())
}

/// Runs `apply` on the store of `settings` while holding the state folder's lock; when it
/// changed something, audits `event` (of the secret's name and the acting OS user).
/// Returns whether something changed.
fn change(
    settings: &Settings,
    name: &str,
    apply: impl FnOnce(&mut SecretStore) -> io::Result<bool>,
    event: for<'x> fn(&'x str, &'x str) -> Event<'x>,
) -> Result<bool, Box<dyn std::error::Error>> {
    let _lock = lock_state(settings)?;
    let mut secrets = SecretStore::open(&settings.state_dir)?;
    if !apply(&mut secrets)? {
        return Ok(false);
    }
    let store = Store::open(&settings.state_dir)?;
    event(name, &os_user()).emit_installation(&store)?;
    Ok(true)
}

/// Settings for a command on secret `name`, after checking the name; problems are printed.
fn settings_for(config: Option<&Path>, name: &str) -> Option<Settings> {
    if let Err(e) = check_name(name) {
        eprintln!("error: {e}");
        return None;
    }
    settings(config)
}

/// The settings at `config`; problems are printed.
fn settings(config: Option<&Path>) -> Option<Settings> {
    load::load_settings(config)
        .map_err(|d| print_diagnostics(&d))
        .ok()
}

fn shown_store(settings: &Settings) -> String {
    SecretStore::path(&settings.state_dir).display().to_string()
}

/// The value of a secret: standard input when it is not a terminal, else typed twice at a
/// prompt without echo.
fn read_value(name: &str) -> io::Result<Zeroizing<String>> {
    let stdin = io::stdin();
    if !stdin.is_terminal() {
        return read_piped(&mut stdin.lock());
    }
    let first = prompt(&format!("value of secret {name} (not shown): "))?;
    let again = prompt("again, to confirm: ")?;
    if first != again {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the two entries differ; nothing was stored",
        ));
    }
    Ok(first)
}

/// All of `input`, without one final line break; at most [`MAX_VALUE_BYTES`], UTF-8.
fn read_piped(input: &mut impl Read) -> io::Result<Zeroizing<String>> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_VALUE_BYTES + 1));
    input
        .take(MAX_VALUE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() > MAX_VALUE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the value is longer than {MAX_VALUE_BYTES} bytes"),
        ));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the value is not UTF-8 text"))?;
    Ok(without_line_break(text))
}

/// `text` without one trailing `\n` or `\r\n`.
fn without_line_break(text: &str) -> Zeroizing<String> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    Zeroizing::new(text.strip_suffix('\r').unwrap_or(text).to_string())
}

/// Asks on stderr and reads one line from the terminal on stdin with echo off.
fn prompt(question: &str) -> io::Result<Zeroizing<String>> {
    let mut err = io::stderr();
    err.write_all(question.as_bytes())?;
    err.flush()?;
    let stdin = io::stdin();
    let mut line = Zeroizing::new(String::with_capacity(1024));
    {
        let _quiet = EchoOff::on(stdin.as_raw_fd())?;
        stdin.lock().read_line(&mut line)?;
    }
    Ok(without_line_break(&line))
}

/// Terminal echo turned off until dropped (also when reading fails or panics).
struct EchoOff {
    fd: RawFd,
    saved: libc::termios,
}

impl EchoOff {
    fn on(fd: RawFd) -> io::Result<EchoOff> {
        let mut saved = std::mem::MaybeUninit::<libc::termios>::uninit();
        // SAFETY: tcgetattr only writes into the termios it is given, and fully on success.
        if unsafe { libc::tcgetattr(fd, saved.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: initialised by the successful tcgetattr above.
        let saved = unsafe { saved.assume_init() };
        let mut quiet = saved;
        // No echo of what is typed, but the Enter still moves to the next line.
        quiet.c_lflag &= !libc::ECHO;
        quiet.c_lflag |= libc::ECHONL;
        // SAFETY: a valid termios for a descriptor tcgetattr accepted.
        if unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &quiet) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(EchoOff { fd, saved })
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        // SAFETY: restores the settings read from this descriptor.
        unsafe {
            libc::tcsetattr(self.fd, libc::TCSAFLUSH, &self.saved);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piped_values_lose_one_line_break_and_are_capped() {
        for (input, expected) in [
            ("s3cret\n", "s3cret"),
            ("s3cret\r\n", "s3cret"),
            ("s3cret", "s3cret"),
            ("two\nlines\n\n", "two\nlines\n"),
        ] {
            let v = read_piped(&mut input.as_bytes()).unwrap();
            assert_eq!(v.as_str(), expected, "{input:?}");
        }
        let long = vec![b'x'; MAX_VALUE_BYTES + 1];
        let err = read_piped(&mut long.as_slice()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let err = read_piped(&mut &[0xff, 0xfe][..]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn echo_cannot_be_turned_off_on_a_file() {
        let file = tempfile::tempfile().unwrap();
        assert!(EchoOff::on(file.as_raw_fd()).is_err());
    }
}
