//! The uniffi binding generator, pinned to the uniffi version e2ee-ffi uses
//! (the generator and the scaffolding must match).
#![forbid(unsafe_code)]

fn main() {
    uniffi::uniffi_bindgen_main()
}
