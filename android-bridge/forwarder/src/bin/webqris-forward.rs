//! `webqris-forward`: the forwarder's host command, a thin shim over [`webqris_forwarder::cli`].

fn main() -> std::process::ExitCode {
    webqris_forwarder::cli::main()
}
