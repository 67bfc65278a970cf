//! RFC 9420 tree_math (work in progress).
