//! demo-node: a small consensus chain on loopback, laid out like a FISCO BCOS Air node.

fn main() -> std::process::ExitCode {
    demo_node::main()
}
