//! RFC 9420 transcript (work in progress).
