//! Where runbooks come from: built-ins embedded from `runbooks/`, user directories that
//! add to or override them by name, and paths.

mod builtin;
mod include;
mod lookup;

pub use builtin::BUILTIN;
pub use lookup::{Catalog, Entry, Origin};
