//! The `reference-server` binary. Not implemented yet: it prints
//! [`reference_server::STATUS`] and exits successfully.
#![forbid(unsafe_code)]

fn main() {
    println!("{}", reference_server::STATUS);
}
