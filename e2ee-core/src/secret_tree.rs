//! RFC 9420 secret_tree (work in progress).
