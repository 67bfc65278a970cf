//! RFC 9420 key_schedule (work in progress).
