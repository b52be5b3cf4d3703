//! Template rendering: handlebars, strict, with POSIX shell quoting and fleet helpers.
