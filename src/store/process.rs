//! Whose a private name is: this host and process, as every build
//! directory, temporary file, claim and lease names it.

/// This host's name (`ATTR_HOSTNAME` overrides it, for tests of several
/// hosts that share pids).
pub fn hostname() -> String {
    if let Ok(h) = std::env::var("ATTR_HOSTNAME") {
        if !h.is_empty() {
            return sanitize(&h);
        }
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| sanitize(h.trim()))
        .unwrap_or_else(|_| "localhost".into())
}

fn sanitize(h: &str) -> String {
    h.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// `host.pid`: the part of every private name that says whose it is.
pub fn tag() -> String {
    format!("{}.{}", hostname(), std::process::id())
}
