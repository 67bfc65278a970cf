//! RFC 9420 framing (work in progress).
