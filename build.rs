//! Records the git commit the binary is built from, for `attr --version`.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    println!(
        "cargo:rustc-env=ATTR_COMMIT={commit}{}",
        if dirty { ", with local changes" } else { "" }
    );
    // a new commit (or checkout) changes HEAD or the branch it names
    println!("cargo:rerun-if-changed=.git/HEAD");
    if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
        println!("cargo:rerun-if-changed=.git/{r}");
    }
    println!("cargo:rerun-if-changed=.git/index");
}
