//! The `attr` command; everything it does is in the library.

fn main() -> std::process::ExitCode {
    attr::main()
}
