//! Who is writing a staged dataset, across processes and hosts.
//!
//! Every process that works on a staged dataset holds a lease: a file
//! `.attr/lease.<host>.<pid>.<start>` in the dataset, touched every
//! [`RENEW`] while the process runs and removed when it ends. A staged
//! dataset is live while one of its leases is fresh (touched within
//! [`EXPIRY`]) or belongs to a process that is still running on this host.
//! A run of another job that takes the output over (`--overwrite`) marks
//! the staged dataset superseded (`.attr/superseded`, naming the taker);
//! its writers check the mark before every chunk and stop without
//! publishing. Build directories and temporary files carry the host and
//! pid as well, and are reaped only when provably dead: this host and a
//! dead pid, or older than [`EXPIRY`] several times over.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

use super::process::{hostname, tag};
use super::remote::Remote;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How often a lease is renewed.
pub const RENEW: Duration = Duration::from_secs(5);
/// A lease not renewed for this long belongs to a dead or stuck process.
pub const EXPIRY: Duration = Duration::from_secs(60);
/// Build directories and temporaries older than this are dead whatever
/// their host says.
const ABANDONED: Duration = Duration::from_secs(3600);

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Whether a process with this `host.pid` tag is provably gone: on this
/// host with no such pid.
pub fn dead_here(host: &str, pid: &str) -> bool {
    host == hostname() && pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists()
}

fn age(path: &Path) -> Duration {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .unwrap_or_default()
}

/// Whether a private name carrying `host.pid` (as [`tag`] writes it) at
/// `path` is dead: this host and a dead pid, or abandoned for an hour.
pub fn reapable(path: &Path, host: &str, pid: &str) -> bool {
    dead_here(host, pid) || age(path) > ABANDONED
}

/// This process's lease on a staged dataset: a file, or in an object
/// store an object that is rewritten to renew it.
pub struct Lease {
    file: PathBuf,
    object: Option<(Remote, String)>,
}

impl Lease {
    /// Take a lease on the dataset being written at `r`.
    pub fn take_remote(r: &Remote) -> Result<Lease> {
        let key = format!("{}/lease.{}.{}", super::ledger::DIR, tag(), now());
        r.put(&key, Vec::new())?;
        Ok(Lease {
            file: PathBuf::new(),
            object: Some((r.clone(), key)),
        })
    }

    /// Take a lease on the staged dataset `dir`.
    pub fn take(dir: &Path) -> Result<Lease> {
        let file = dir
            .join(super::ledger::DIR)
            .join(format!("lease.{}.{}", tag(), now()));
        std::fs::write(&file, b"")
            .with_context(|| format!("cannot take a lease in '{}'", dir.display()))?;
        Ok(Lease { file, object: None })
    }

    /// Touch the lease (ignoring failure: the dataset may have been
    /// published or superseded meanwhile).
    pub fn renew(&self) {
        if let Some((r, key)) = &self.object {
            let _ = r.put(key, Vec::new());
            return;
        }
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .open(&self.file)
            .and_then(|f| f.set_modified(SystemTime::now()));
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some((r, key)) = &self.object {
            let _ = r.delete(key);
            return;
        }
        let _ = std::fs::remove_file(&self.file);
    }
}

/// This process as [`live_holders`] names it.
pub fn holder() -> String {
    let tag = tag();
    let (host, pid) = tag.rsplit_once('.').unwrap_or((&tag, ""));
    format!("host {host} pid {pid}")
}

/// Who holds live leases on the staged dataset `dir`, as `host pid`
/// descriptions (stale and dead ones are removed on the way).
pub fn live_holders(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir.join(super::ledger::DIR)) else {
        return Vec::new();
    };
    let mut live = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("lease.") else {
            continue;
        };
        let parts: Vec<&str> = rest.rsplitn(3, '.').collect();
        let [_start, pid, host] = parts[..] else {
            continue;
        };
        if dead_here(host, pid) || age(&e.path()) > EXPIRY {
            let _ = std::fs::remove_file(e.path());
        } else {
            live.push(format!("host {host} pid {pid}"));
        }
    }
    live
}

/// [`live_holders`] of a dataset in an object store, by the objects' ages
/// as the store tells them.
pub fn live_remote_holders(r: &Remote) -> Vec<String> {
    let now_ns = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128);
    let mut live = Vec::new();
    // (a listing's prefix is a folder: list the ledger's, pick the leases)
    for e in r.list(super::ledger::DIR).unwrap_or_default() {
        let name = e.key.rsplit('/').next().unwrap_or("");
        let Some(rest) = name.strip_prefix("lease.") else {
            continue;
        };
        let parts: Vec<&str> = rest.rsplitn(3, '.').collect();
        let [_start, pid, host] = parts[..] else {
            continue;
        };
        let age = Duration::from_nanos((now_ns - e.modified_ns).max(0) as u64);
        if dead_here(host, pid) || age > EXPIRY {
            let _ = r.delete(&e.key);
        } else {
            live.push(format!("host {host} pid {pid}"));
        }
    }
    live
}

const SUPERSEDED: &str = "superseded";

/// Mark the staged dataset `dir` as taken over by this process.
pub fn supersede(dir: &Path) -> Result<()> {
    std::fs::write(
        dir.join(super::ledger::DIR).join(SUPERSEDED),
        format!("{}\n", tag().replace('.', " pid ")),
    )
    .with_context(|| format!("cannot take over '{}'", dir.display()))
}

/// Who took the staged dataset `dir` over, if someone did.
pub fn superseded_by(dir: &Path) -> Option<String> {
    std::fs::read_to_string(dir.join(super::ledger::DIR).join(SUPERSEDED))
        .ok()
        .map(|s| format!("host {}", s.trim()))
}
