//! demo-node: a small consensus chain for runbooks to work on.
fn main() {}
