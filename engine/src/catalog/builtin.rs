//! The built-in runbooks, embedded in the binary. Each is validated and planned in a test.

/// (file name, YAML text) of every built-in runbook.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "rolling-upgrade.yaml",
        include_str!("../../../runbooks/rolling-upgrade.yaml"),
    ),
    (
        "health-check.yaml",
        include_str!("../../../runbooks/health-check.yaml"),
    ),
    (
        "add-node.yaml",
        include_str!("../../../runbooks/add-node.yaml"),
    ),
    (
        "rolling-restart.yaml",
        include_str!("../../../runbooks/rolling-restart.yaml"),
    ),
    (
        "remove-node.yaml",
        include_str!("../../../runbooks/remove-node.yaml"),
    ),
    (
        "migrate-disk.yaml",
        include_str!("../../../runbooks/migrate-disk.yaml"),
    ),
    (
        "replace-upgrade.yaml",
        include_str!("../../../runbooks/replace-upgrade.yaml"),
    ),
    // etcd's backup and disaster recovery (docs/runbooks/etcd.md): one snapshot of the
    // whole keyspace, a procedure of another shape than the demo chain's per-node archives.
    (
        "etcd-backup.yaml",
        include_str!("../../../runbooks/etcd/backup.yaml"),
    ),
    (
        "etcd-disaster-recovery.yaml",
        include_str!("../../../runbooks/etcd/disaster-recovery.yaml"),
    ),
    ("backup.yaml", include_str!("../../../runbooks/backup.yaml")),
    (
        "restore.yaml",
        include_str!("../../../runbooks/restore.yaml"),
    ),
    (
        "checkpoint.yaml",
        include_str!("../../../runbooks/checkpoint.yaml"),
    ),
    (
        "checkpoint-restore.yaml",
        include_str!("../../../runbooks/checkpoint-restore.yaml"),
    ),
    (
        "disaster-recovery.yaml",
        include_str!("../../../runbooks/disaster-recovery.yaml"),
    ),
    (
        "rotate-tls.yaml",
        include_str!("../../../runbooks/rotate-tls.yaml"),
    ),
];
