//! End-to-end runbooks on a running demo chain over real sshd hosts.
