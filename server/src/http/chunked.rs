//! A strict, incremental decoder of the chunked transfer coding (RFC 9112 §7.1).
//!
//! `httparse::parse_chunk_size` is not used: it accepts an empty size as 0, any byte in
//! extensions (bare LF included) and whitespace after the size, which lets two parsers frame
//! the same bytes differently (request smuggling). Here:
//!
//! * `chunk-size = 1*HEXDIG`, at most a `u64`; optional `BWS ";" chunk-ext` after it, whose
//!   bytes must be visible characters, spaces or tabs; every line ends with CRLF (a bare LF is an
//!   error); the size line is bounded (`max_line`);
//! * the data of each chunk is followed by CRLF;
//! * after the `0` chunk, trailer fields (`name: value` CRLF, no obs-fold, bounded in total by
//!   `max_trailers`) and the final CRLF. The trailers are kept ([`ChunkedDecoder::trailers`]).
//!
//! The decoder holds no input: it consumes bytes as they come, so a body split at any byte
//! decodes exactly as in one piece (tested at every split point, and fuzzed).

use std::ops::Range;

use http::{HeaderMap, HeaderName, HeaderValue};

/// Why a chunked body is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkError {
    /// The framing is malformed (→ 400).
    Framing(&'static str),
    /// A size line or the trailers exceed their limit (→ 400).
    TooLong(&'static str),
    /// The data exceed the body limit (→ 413).
    BodyTooLarge,
}

impl std::fmt::Display for ChunkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChunkError::Framing(m) => write!(f, "bad chunked framing: {m}"),
            ChunkError::TooLong(m) => write!(f, "chunked body: {m}"),
            ChunkError::BodyTooLarge => f.write_str("chunked body exceeds the size limit"),
        }
    }
}

impl std::error::Error for ChunkError {}

/// Where the decoder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    /// At the start of a size line (no digit yet).
    SizeStart,
    /// In the hex digits.
    Size,
    /// Whitespace after the size: only `;` may follow.
    SizeWs,
    /// In the extensions, after a `;`.
    Ext,
    /// Saw the CR ending the size line.
    SizeLf,
    /// In a chunk's data.
    Data,
    /// After a chunk's data: expecting CR.
    DataCr,
    /// Expecting the LF after the data's CR.
    DataLf,
    /// At the start of a trailer line (or of the final empty line).
    TrailerStart,
    /// In a trailer line.
    Trailer,
    /// Saw the CR ending a trailer line.
    TrailerLf,
    /// Saw the CR of the final empty line.
    EndLf,
    /// The body is complete.
    Done,
}

/// Limits of the decoder.
#[derive(Debug, Clone, Copy)]
pub struct ChunkLimits {
    /// The longest size line (size, extensions), in bytes.
    pub max_line: usize,
    /// The longest trailer section, in bytes.
    pub max_trailers: usize,
    /// The most data bytes, if limited.
    pub max_body: Option<u64>,
}

impl Default for ChunkLimits {
    fn default() -> Self {
        ChunkLimits {
            max_line: 16 * 1024,
            max_trailers: 16 * 1024,
            max_body: None,
        }
    }
}

/// The state of one chunked body being decoded.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    /// Where it is.
    st: St,
    /// The current chunk's size while reading it, then its data bytes still to come.
    remaining: u64,
    /// Bytes of the current size line so far.
    line: usize,
    /// Bytes of the trailer section so far.
    trailer_bytes: usize,
    /// The current trailer line (bounded by `max_trailers`).
    trailer_line: Vec<u8>,
    /// The trailer fields, once any was seen.
    trailers: Option<HeaderMap>,
    /// Data bytes decoded so far.
    total: u64,
    /// The limits.
    limits: ChunkLimits,
}

/// `tchar` of RFC 9110 §5.6.2.
pub(crate) fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`'
        | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

/// A byte allowed inside an extension or a field value: VCHAR, obs-text, SP, HTAB.
fn is_text(b: u8) -> bool {
    b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80
}

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn new(limits: ChunkLimits) -> ChunkedDecoder {
        ChunkedDecoder {
            st: St::SizeStart,
            remaining: 0,
            line: 0,
            trailer_bytes: 0,
            trailer_line: Vec::new(),
            trailers: None,
            total: 0,
            limits,
        }
    }

    /// Whether the whole body, trailers included, was decoded.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn is_done(&self) -> bool {
        self.st == St::Done
    }

    /// The trailer fields, if the body had any.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn trailers(&self) -> Option<&HeaderMap> {
        self.trailers.as_ref()
    }

    /// Takes the trailer fields.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn take_trailers(&mut self) -> Option<HeaderMap> {
        self.trailers.take()
    }

    /// Data bytes decoded so far.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Decodes from `input`: returns how many bytes were consumed and the range of `input`
    /// holding payload (at most `max` bytes; empty if none). It stops right after one run of
    /// payload, at the end of the body, or at the end of `input`.
    ///
    /// # Errors
    ///
    /// On malformed framing or an exceeded limit; the decoder must not be used again.
    ///
    /// # Switches
    ///
    /// Never.
    pub fn decode(
        &mut self,
        input: &[u8],
        max: usize,
    ) -> Result<(usize, Range<usize>), ChunkError> {
        let mut i = 0;
        while i < input.len() {
            if self.st == St::Data {
                if max == 0 {
                    return Ok((i, i..i));
                }
                let n = (input.len() - i).min(max);
                let n = if (n as u64) > self.remaining {
                    self.remaining as usize
                } else {
                    n
                };
                self.remaining -= n as u64;
                if self.remaining == 0 {
                    self.st = St::DataCr;
                }
                return Ok((i + n, i..i + n));
            }
            let b = input[i];
            i += 1;
            self.step(b)?;
            if self.st == St::Done {
                break;
            }
        }
        Ok((i, i..i))
    }

    /// One framing byte.
    fn step(&mut self, b: u8) -> Result<(), ChunkError> {
        match self.st {
            St::SizeStart | St::Size => {
                self.count_line()?;
                if let Some(d) = hex(b) {
                    if self.remaining > (u64::MAX >> 4) {
                        return Err(ChunkError::Framing("chunk size overflows"));
                    }
                    self.remaining = self.remaining << 4 | d as u64;
                    self.st = St::Size;
                } else if self.st == St::SizeStart {
                    return Err(ChunkError::Framing("chunk size without digits"));
                } else {
                    match b {
                        b'\r' => self.st = St::SizeLf,
                        b';' => self.st = St::Ext,
                        b' ' | b'\t' => self.st = St::SizeWs,
                        _ => return Err(ChunkError::Framing("invalid byte after the chunk size")),
                    }
                }
            }
            St::SizeWs => {
                self.count_line()?;
                match b {
                    b' ' | b'\t' => {}
                    b';' => self.st = St::Ext,
                    _ => {
                        return Err(ChunkError::Framing(
                            "whitespace after the chunk size not followed by ';'",
                        ))
                    }
                }
            }
            St::Ext => {
                self.count_line()?;
                match b {
                    b'\r' => self.st = St::SizeLf,
                    b if is_text(b) => {}
                    _ => return Err(ChunkError::Framing("invalid byte in a chunk extension")),
                }
            }
            St::SizeLf => {
                if b != b'\n' {
                    return Err(ChunkError::Framing("CR without LF after the chunk size"));
                }
                self.line = 0;
                if self.remaining == 0 {
                    self.st = St::TrailerStart;
                } else {
                    if let Some(max) = self.limits.max_body {
                        if self.total.saturating_add(self.remaining) > max {
                            return Err(ChunkError::BodyTooLarge);
                        }
                    }
                    self.total += self.remaining;
                    self.st = St::Data;
                }
            }
            St::Data => unreachable!("data is consumed by decode"),
            St::DataCr => {
                if b != b'\r' {
                    return Err(ChunkError::Framing("chunk data not followed by CRLF"));
                }
                self.st = St::DataLf;
            }
            St::DataLf => {
                if b != b'\n' {
                    return Err(ChunkError::Framing("chunk data not followed by CRLF"));
                }
                self.st = St::SizeStart;
            }
            St::TrailerStart => {
                self.count_trailer()?;
                match b {
                    b'\r' => self.st = St::EndLf,
                    b' ' | b'\t' => return Err(ChunkError::Framing("obs-fold in the trailers")),
                    b if is_tchar(b) => {
                        self.trailer_line.clear();
                        self.trailer_line.push(b);
                        self.st = St::Trailer;
                    }
                    _ => return Err(ChunkError::Framing("invalid trailer field")),
                }
            }
            St::Trailer => {
                self.count_trailer()?;
                match b {
                    b'\r' => self.st = St::TrailerLf,
                    b if is_text(b) => self.trailer_line.push(b),
                    _ => return Err(ChunkError::Framing("invalid byte in a trailer field")),
                }
            }
            St::TrailerLf => {
                self.count_trailer()?;
                if b != b'\n' {
                    return Err(ChunkError::Framing("CR without LF in the trailers"));
                }
                self.finish_trailer()?;
                self.st = St::TrailerStart;
            }
            St::EndLf => {
                if b != b'\n' {
                    return Err(ChunkError::Framing("CR without LF at the end of the body"));
                }
                self.st = St::Done;
            }
            St::Done => {}
        }
        Ok(())
    }

    /// Counts one byte of the size line against its limit.
    fn count_line(&mut self) -> Result<(), ChunkError> {
        self.line += 1;
        if self.line > self.limits.max_line {
            return Err(ChunkError::TooLong("chunk size line too long"));
        }
        Ok(())
    }

    /// Counts one byte of the trailers against their limit.
    fn count_trailer(&mut self) -> Result<(), ChunkError> {
        self.trailer_bytes += 1;
        if self.trailer_bytes > self.limits.max_trailers {
            return Err(ChunkError::TooLong("trailers too long"));
        }
        Ok(())
    }

    /// Parses the trailer line just ended.
    fn finish_trailer(&mut self) -> Result<(), ChunkError> {
        let line = &self.trailer_line;
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(ChunkError::Framing("trailer field without ':'"))?;
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
            return Err(ChunkError::Framing("invalid trailer field name"));
        }
        let value = trim_ows(&line[colon + 1..]);
        let name = HeaderName::from_bytes(name)
            .map_err(|_| ChunkError::Framing("invalid trailer name"))?;
        let value = HeaderValue::from_bytes(value)
            .map_err(|_| ChunkError::Framing("invalid trailer value"))?;
        self.trailers
            .get_or_insert_with(HeaderMap::new)
            .append(name, value);
        Ok(())
    }
}

/// The value of a hex digit.
fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `s` without leading and trailing spaces and tabs.
pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `input` split into pieces of `step` bytes, each read with `max` at most.
    fn decode_all(input: &[u8], step: usize, max: usize) -> Result<(Vec<u8>, usize), ChunkError> {
        let mut d = ChunkedDecoder::new(ChunkLimits::default());
        let mut out = Vec::new();
        let mut pos = 0;
        let mut avail = 0;
        while !d.is_done() {
            if pos == avail {
                if avail == input.len() {
                    break;
                }
                avail = (avail + step).min(input.len());
            }
            let (n, r) = d.decode(&input[pos..avail], max)?;
            out.extend_from_slice(&input[pos..avail][r]);
            pos += n;
        }
        Ok((out, pos))
    }

    #[test]
    fn decodes_at_every_split_and_read_size() {
        let body =
            b"5\r\nhello\r\n1;a=b;c=\"d e\"\r\n \r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        for step in 1..body.len() {
            for max in [1, 3, 64] {
                let (out, used) = decode_all(body, step, max).unwrap();
                assert_eq!(out, b"hello 0123456789");
                assert_eq!(&body[used..], b"NEXT");
            }
        }
    }

    #[test]
    fn rejects_bad_framing() {
        for bad in [
            &b"\r\n"[..],
            b"x\r\n",
            b"5\nhello\r\n",
            b"5\r\nhello\n0\r\n\r\n",
            b"5\r\nhelloXX0\r\n\r\n",
            b"5 \r\nhello\r\n",
            b"0x5\r\nhello\r\n",
            b"+5\r\nhello\r\n",
            b"5;a\nb\r\nhello\r\n",
            b"5;\x00\r\nhello\r\n",
            b"10000000000000000\r\n",
            b"0\r\n bad: fold\r\n\r\n",
            b"0\r\nno-colon\r\n\r\n",
            b"0\r\n: empty\r\n\r\n",
            b"0\r\nX: y\n\r\n",
            b"0\r\n\n",
        ] {
            assert!(
                matches!(decode_all(bad, 1, 64), Err(ChunkError::Framing(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn keeps_trailers() {
        let mut d = ChunkedDecoder::new(ChunkLimits::default());
        let (n, r) = d.decode(b"0\r\nA: 1\r\nB:  two \r\n\r\n", 10).unwrap();
        assert!(r.is_empty() && d.is_done() && n == 21);
        let t = d.trailers().unwrap();
        assert_eq!(t["a"], "1");
        assert_eq!(t["b"], "two");
    }

    #[test]
    fn limits() {
        let mut d = ChunkedDecoder::new(ChunkLimits {
            max_body: Some(4),
            ..ChunkLimits::default()
        });
        assert_eq!(d.decode(b"5\r\n", 10), Err(ChunkError::BodyTooLarge));
        let mut d = ChunkedDecoder::new(ChunkLimits {
            max_line: 8,
            ..ChunkLimits::default()
        });
        assert!(matches!(
            d.decode(b"1;aaaaaaaaaa\r\n", 10),
            Err(ChunkError::TooLong(_))
        ));
    }
}
