//! Wire structures of RFC 9420.
