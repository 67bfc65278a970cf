//! `mls-peer`: reads one JSON request per line on stdin and writes one JSON
//! reply per line on stdout, flushed at once (protocol in the README).

#![forbid(unsafe_code)]

use std::io::{self, BufRead, Write};
use std::process::ExitCode;

use mls_peer::Peer;

fn main() -> ExitCode {
    let mut input = io::stdin().lock();
    let mut output = io::stdout().lock();
    let mut peer = Peer::new();
    // Raw bytes, not `lines()`: a line that is not UTF-8 gets an error reply
    // instead of ending the conversation.
    let mut line = Vec::new();
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) => return ExitCode::SUCCESS,
            Ok(_) => {}
            Err(e) => {
                eprintln!("mls-peer: reading stdin: {e}");
                return ExitCode::FAILURE;
            }
        }
        let Some(reply) = peer.handle_line(&line) else {
            continue;
        };
        // The driver waits for each reply, so it must leave at once.
        if let Err(e) = writeln!(output, "{reply}").and_then(|()| output.flush()) {
            eprintln!("mls-peer: writing stdout: {e}");
            return ExitCode::FAILURE;
        }
    }
}
