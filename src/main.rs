//! The `sxsaudit` binary: everything lives in the library; see `sxsaudit::cli`.

fn main() -> std::process::ExitCode {
    sxsaudit::cli::main()
}
