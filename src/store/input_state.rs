//! A cheap identity of an input volume: every file of its array (metadata
//! and chunks), of its trace mask and of its group metadata, with size and
//! modification time. Recorded in each staged and published dataset, so that
//! `--resume` and reruns notice an input that changed underneath them and
//! say which file did, instead of mixing chunks of two inputs.

use super::remote::Remote;
use super::Location;
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::path::Path;

const FILE: &str = "input.json";

#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// (path relative to the input, size, mtime in ns), sorted.
    entries: Vec<(String, u64, i128)>,
}

fn walk(root: &Path, dir: &Path, recurse: bool, out: &mut Vec<(String, u64, i128)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(meta) = e.metadata() else { continue };
        let path = e.path();
        if meta.is_dir() {
            if recurse {
                walk(root, &path, true, out);
            }
            continue;
        }
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128);
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        out.push((rel, meta.len(), mtime));
    }
}

fn walk_file(path: &Path, out: &mut Vec<(String, u64, i128)>) {
    if let Ok(meta) = std::fs::metadata(path) {
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128);
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        out.push((name.unwrap_or_default(), meta.len(), mtime));
    }
}

impl Identity {
    /// The identity of the input at `path` (a group with `variable`, or a
    /// plain array).
    pub fn of(at: &Location, variable: Option<&str>) -> Identity {
        let mut entries = Vec::new();
        let path = match at {
            Location::S3(r) => return Identity::of_remote(r, variable),
            Location::Zip {
                shown,
                folder,
                name,
            } => {
                // a zip store: the file itself
                match folder.remote() {
                    Some(r) => entries.extend(
                        r.list("")
                            .unwrap_or_default()
                            .into_iter()
                            .filter(|e| &e.key == name)
                            .map(|e| (e.key, e.size, e.modified_ns)),
                    ),
                    None => walk_file(shown, &mut entries),
                }
                return Identity { entries };
            }
            Location::Dir(path) => path,
        };
        match variable {
            Some(v) => {
                walk(path, path, false, &mut entries);
                walk(path, &path.join(v), true, &mut entries);
                walk(path, &path.join("trace_mask"), true, &mut entries);
            }
            None => walk(path, path, true, &mut entries),
        }
        entries.retain(|(rel, _, _)| !rel.contains(".attr-tmp."));
        entries.sort();
        Identity { entries }
    }

    /// The objects of the input in its store: key, size, last modified.
    fn of_remote(r: &Remote, variable: Option<&str>) -> Identity {
        let listed = r.list("").unwrap_or_default();
        let mut entries: Vec<(String, u64, i128)> = listed
            .into_iter()
            .filter(|e| match variable {
                Some(v) => {
                    !e.key.contains('/')
                        || e.key.starts_with(&format!("{v}/"))
                        || e.key.starts_with("trace_mask/")
                }
                None => true,
            })
            .filter(|e| !e.key.starts_with(".attr/"))
            .map(|e| (e.key, e.size, e.modified_ns))
            .collect();
        entries.sort();
        Identity { entries }
    }

    fn to_json(&self) -> Value {
        json!(self.entries)
    }

    /// Record it in the dataset `dir` (in its ledger directory).
    pub fn record(&self, dir: &Location) -> Result<()> {
        if let Some(r) = dir.remote() {
            let key = format!("{}/{FILE}", super::ledger::DIR);
            return r.put(&key, serde_json::to_vec(&self.to_json())?);
        }
        let file = dir.path().join(super::ledger::DIR).join(FILE);
        std::fs::write(&file, serde_json::to_string(&self.to_json())?)
            .with_context(|| format!("cannot write '{}'", file.display()))
    }

    /// The identity recorded in the dataset `dir`, if any.
    pub fn recorded(dir: &Location) -> Option<Identity> {
        let text = if let Some(r) = dir.remote() {
            let bytes = r.get(&format!("{}/{FILE}", super::ledger::DIR)).ok()??;
            String::from_utf8(bytes).ok()?
        } else {
            std::fs::read_to_string(dir.path().join(super::ledger::DIR).join(FILE)).ok()?
        };
        let entries: Vec<(String, u64, i128)> = serde_json::from_str(&text).ok()?;
        Some(Identity { entries })
    }

    /// What differs from `earlier`, in words (`None`: nothing).
    pub fn changes_since(&self, earlier: &Identity) -> Option<String> {
        if self == earlier {
            return None;
        }
        use std::collections::BTreeMap;
        let old: BTreeMap<&str, (u64, i128)> = earlier
            .entries
            .iter()
            .map(|(p, s, t)| (p.as_str(), (*s, *t)))
            .collect();
        let new: BTreeMap<&str, (u64, i128)> = self
            .entries
            .iter()
            .map(|(p, s, t)| (p.as_str(), (*s, *t)))
            .collect();
        let mut changed = Vec::new();
        for (p, n) in &new {
            match old.get(p) {
                None => changed.push(format!("{p} appeared")),
                Some(o) if o.0 != n.0 => {
                    changed.push(format!("{p} changed size ({} -> {})", o.0, n.0))
                }
                Some(o) if o != n => changed.push(format!("{p} was rewritten")),
                _ => {}
            }
        }
        for p in old.keys().filter(|p| !new.contains_key(*p)) {
            changed.push(format!("{p} disappeared"));
        }
        let first: Vec<String> = changed.iter().take(3).cloned().collect();
        Some(format!(
            "{} file(s) of the input differ: {}{}",
            changed.len(),
            first.join(", "),
            if changed.len() > 3 { ", ..." } else { "" }
        ))
    }
}
