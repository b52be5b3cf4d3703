//! The `quorate` binary. Started under the name `demo-node` (as the demo chain's node
//! directories hold it), it is the demo chain's node instead: one build gives both.

fn main() -> std::process::ExitCode {
    let invoked_as = std::env::args_os().next().and_then(|a| {
        std::path::Path::new(&a)
            .file_name()
            .map(std::ffi::OsStr::to_os_string)
    });
    if invoked_as.is_some_and(|n| n == "demo-node") {
        return demo_node::main();
    }
    quorate::cli::main()
}
