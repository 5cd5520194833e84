//! The chunked decoder: decoding the input in one piece, and in pieces whose sizes the input's
//! first bytes choose, with varying read sizes, must give the same payload, the same end, and
//! the same error; nothing may panic.
#![no_main]

use gevent_server::http::fuzzing::{ChunkLimits, ChunkedDecoder};
use libfuzzer_sys::fuzz_target;

/// Decodes `input` fed in pieces of `step` bytes with reads of at most `max` bytes.
fn run(input: &[u8], step: usize, max: usize) -> (Vec<u8>, Result<(bool, usize), String>) {
    let mut d = ChunkedDecoder::new(ChunkLimits {
        max_line: 64,
        max_trailers: 256,
        max_body: Some(1 << 20),
    });
    let mut out = Vec::new();
    let (mut pos, mut avail) = (0, 0);
    while !d.is_done() {
        if pos == avail {
            if avail == input.len() {
                break;
            }
            avail = (avail + step).min(input.len());
        }
        match d.decode(&input[pos..avail], max) {
            Ok((used, data)) => {
                assert!(data.end <= used && used <= avail - pos);
                out.extend_from_slice(&input[pos..avail][data]);
                pos += used;
            }
            Err(e) => return (out, Err(e.to_string())),
        }
    }
    (out, Ok((d.is_done(), pos)))
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (step, max) = (1 + data[0] as usize % 7, 1 + data[1] as usize % 13);
    let input = &data[2..];
    let whole = run(input, input.len().max(1), usize::MAX);
    let pieces = run(input, step, max);
    match (&whole.1, &pieces.1) {
        (Ok(_), Ok(_)) => assert_eq!(whole, pieces),
        (Err(a), Err(b)) => {
            assert_eq!(a, b);
            // The payload before the error is a prefix either way.
            let n = whole.0.len().min(pieces.0.len());
            assert_eq!(whole.0[..n], pieces.0[..n]);
        }
        _ => panic!("one-piece and piecewise decoding disagree: {whole:?} vs {pieces:?}"),
    }
});
