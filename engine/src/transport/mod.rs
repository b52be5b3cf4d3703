//! How commands reach hosts: SSH (one multiplexed master per host) or the local machine,
//! and the remote task journal that makes interrupted tasks decidable.
