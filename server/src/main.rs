//! `webqris`: a thin shim over [`webqris_server::cli`].
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    webqris_server::cli::main()
}
