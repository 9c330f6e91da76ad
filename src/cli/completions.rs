/// Print a shell completion script: `attr completions bash >
/// /etc/bash_completion.d/attr`, `attr completions zsh > "${fpath[1]}/_attr"`,
/// `attr completions fish > ~/.config/fish/completions/attr.fish`.
#[derive(clap::Args)]
pub struct Args {
    /// bash, zsh, fish, elvish or powershell.
    shell: clap_complete::Shell,
}

impl Args {
    /// `cli`: the whole command line, whose completions are printed.
    pub fn execute(self, mut cli: clap::Command) -> anyhow::Result<()> {
        let mut buf = Vec::new();
        clap_complete::generate(self.shell, &mut cli, "attr", &mut buf);
        crate::outln!("{}", String::from_utf8_lossy(&buf).trim_end());
        Ok(())
    }
}

/// The manual page, roff, from the same definitions as `--help`.
pub fn man(cli: clap::Command) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cli).render(&mut buf)?;
    crate::outln!("{}", String::from_utf8_lossy(&buf).trim_end());
    Ok(())
}
