//! # e2ee-ffi
//!
//! Native bindings for [`e2ee_core`] (Kotlin, Swift and Python through
//! `uniffi`).
//!
//! This crate is a placeholder: it builds and links against `e2ee-core`, but
//! exposes no `uniffi` API yet. When it does, it will contain type conversion
//! only; every capability lives in `e2ee-core`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// The version of this crate, e.g. `"0.1.0"`.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_is_the_package_version() {
        assert_eq!(super::version(), env!("CARGO_PKG_VERSION"));
        assert!(!super::version().is_empty());
    }
}
