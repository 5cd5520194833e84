//! A small HTTP/1.1 client for the tests: raw bytes out, parsed responses in.

#![allow(dead_code)] // each test file uses a part

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use gevent_net::TcpStream;
use gevent_server::http::fuzzing::{ChunkLimits, ChunkedDecoder};

/// A parsed response.
#[derive(Debug)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Header fields, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body (chunked coding removed).
    pub body: Vec<u8>,
}

impl Resp {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A raw client connection.
pub struct Client {
    /// The socket.
    pub s: TcpStream,
    /// Bytes received and not yet parsed.
    buf: Vec<u8>,
    /// The peer closed.
    eof: bool,
}

impl Client {
    /// Connects to `addr` (reads time out after 10 s so a broken server fails the test).
    pub fn connect(addr: SocketAddr) -> Client {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_nodelay(true).unwrap();
        Client {
            s,
            buf: Vec::new(),
            eof: false,
        }
    }

    /// Sends bytes.
    pub fn send(&mut self, b: &[u8]) {
        self.s.write_all(b).unwrap();
    }

    /// Reads more; false at end of stream (or reset).
    fn more(&mut self) -> bool {
        if self.eof {
            return false;
        }
        let mut b = [0u8; 16384];
        match self.s.read(&mut b) {
            Ok(0) | Err(_) => {
                self.eof = true;
                false
            }
            Ok(n) => {
                self.buf.extend_from_slice(&b[..n]);
                true
            }
        }
    }

    /// Everything until the server closes.
    pub fn read_to_end(&mut self) -> Vec<u8> {
        while self.more() {}
        std::mem::take(&mut self.buf)
    }

    /// Whether the server closed the connection (after any pending bytes are read as junk).
    pub fn is_closed(&mut self) -> bool {
        while self.more() {}
        self.eof
    }

    /// The next response to a request with method `method`; `None` if the connection closed
    /// before a complete one.
    pub fn response_to(&mut self, method: &str) -> Option<Resp> {
        loop {
            let mut hs = [httparse::EMPTY_HEADER; 64];
            let mut r = httparse::Response::new(&mut hs);
            match r.parse(&self.buf).expect("a valid response head") {
                httparse::Status::Partial => {
                    if !self.more() {
                        return None;
                    }
                }
                httparse::Status::Complete(n) => {
                    let status = r.code.unwrap();
                    let headers: Vec<(String, String)> = r
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_ascii_lowercase(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect();
                    self.buf.drain(..n);
                    let get =
                        |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                    let bodiless =
                        method == "HEAD" || status == 204 || status == 304 || status < 200;
                    let body = if bodiless {
                        Vec::new()
                    } else if let Some(cl) = get("content-length") {
                        let cl: usize = cl.parse().unwrap();
                        while self.buf.len() < cl {
                            if !self.more() {
                                return None;
                            }
                        }
                        self.buf.drain(..cl).collect()
                    } else if get("transfer-encoding").as_deref() == Some("chunked") {
                        let mut d = ChunkedDecoder::new(ChunkLimits::default());
                        let mut out = Vec::new();
                        while !d.is_done() {
                            let (used, data) = d.decode(&self.buf, usize::MAX).unwrap();
                            out.extend_from_slice(&self.buf[data]);
                            self.buf.drain(..used);
                            if !d.is_done() && used == 0 && !self.more() {
                                return None;
                            }
                        }
                        out
                    } else {
                        self.read_to_end()
                    };
                    return Some(Resp {
                        status,
                        headers,
                        body,
                    });
                }
            }
        }
    }

    /// The next response to a GET.
    pub fn response(&mut self) -> Option<Resp> {
        self.response_to("GET")
    }
}

/// Sends `req` on a new connection and returns the first response.
pub fn one(addr: SocketAddr, req: &[u8]) -> Option<Resp> {
    let mut c = Client::connect(addr);
    c.send(req);
    c.response()
}
