//! `webqris-forward`: the forwarder's host command, a thin shim over [`webqris_android::cli`].

fn main() -> std::process::ExitCode {
    webqris_android::cli::main()
}
