//! RFC 9420 psk (work in progress).
