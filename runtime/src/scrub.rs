//! Masks the tenant's credentials in everything the host hands on: the
//! response headers and bodies the guest reads, the token endpoint's error
//! texts, and so every error and log line built from them.
//!
//! An impostor API (or a misconfigured proxy) can reflect the request's
//! `Authorization` header, and a token endpoint can quote the Basic
//! credential in its `error_description`. The host added those values, so
//! the host removes them again: each occurrence of the client secret (raw,
//! JSON-escaped, percent-encoded), the Basic credential and the bearer
//! token in use is replaced by as many `*`. The length is kept so
//! `Content-Length` stays true and the guest's JSON parser sees the same
//! shape.

use bytes::{Bytes, BytesMut};
use memchr::memmem;

/// Needles shorter than this are not masked: masking every `a` of a body
/// would corrupt it. Secrets and tokens are validated to be at least this
/// long, so nothing real is skipped.
pub const MIN_SCRUBBED_LEN: usize = 8;

/// The values to mask, each with its searcher built once: a connection's
/// scrubber masks every header and body chunk of every request, and
/// building a searcher per search cost more than the search.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scrubber {
    needles: Vec<memmem::Finder<'static>>,
}

impl Scrubber {
    /// Masks `secret` raw and in its common encodings (JSON-escaped, with
    /// and without escaped slashes, and percent-encoded).
    pub fn add_secret(&mut self, secret: &str) {
        self.add(secret.as_bytes());
        let json = serde_json::to_string(secret).unwrap_or_default();
        let json = json.trim_matches('"');
        self.add(json.as_bytes());
        self.add(json.replace('/', "\\/").as_bytes());
        self.add(percent_encode(secret).as_bytes());
    }

    /// Masks exactly these bytes (a Basic credential, a built header value).
    pub fn add_literal(&mut self, value: &[u8]) {
        self.add(value);
    }

    /// This scrubber plus the bearer token of one request.
    pub fn with_token(&self, token: &[u8]) -> Scrubber {
        let mut s = self.clone();
        s.add(token);
        s
    }

    fn add(&mut self, needle: &[u8]) {
        if needle.len() >= MIN_SCRUBBED_LEN && !self.needles.iter().any(|n| n.needle() == needle) {
            self.needles.push(memmem::Finder::new(needle).into_owned());
        }
    }

    /// The longest needle; a streaming scrubber holds back one byte less.
    fn longest(&self) -> usize {
        self.needles
            .iter()
            .map(|n| n.needle().len())
            .max()
            .unwrap_or(0)
    }

    /// Masks every needle in `bytes`; whether anything was masked.
    pub fn mask(&self, bytes: &mut [u8]) -> bool {
        let mut masked = false;
        for finder in &self.needles {
            let len = finder.needle().len();
            let mut from = 0;
            while let Some(at) = finder.find(&bytes[from..]) {
                let start = from + at;
                bytes[start..start + len].fill(b'*');
                from = start + len;
                masked = true;
            }
        }
        masked
    }

    /// `text` with every needle masked. Needles are whole UTF-8 sequences
    /// and the mask is ASCII, so the result is UTF-8 too.
    pub fn text(&self, text: &str) -> String {
        let mut bytes = text.as_bytes().to_vec();
        self.mask(&mut bytes);
        String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into())
    }

    /// A header value with every needle masked.
    pub fn header(&self, value: &http::HeaderValue) -> Option<http::HeaderValue> {
        // Nearly every value holds no needle: look before copying.
        if !self
            .needles
            .iter()
            .any(|n| n.find(value.as_bytes()).is_some())
        {
            return None;
        }
        let mut bytes = value.as_bytes().to_vec();
        if !self.mask(&mut bytes) {
            return None;
        }
        http::HeaderValue::from_bytes(&bytes).ok()
    }

    /// A scrubber for a body that arrives in chunks.
    pub fn stream(self) -> StreamScrubber {
        StreamScrubber {
            hold: self.longest().saturating_sub(1),
            scrubber: self,
            carry: BytesMut::new(),
        }
    }
}

/// Scrubs a body chunk by chunk. A needle may straddle two chunks, so the
/// last `longest - 1` bytes of what arrived are held back until the next
/// chunk (or the end) shows whether they start one.
pub(crate) struct StreamScrubber {
    scrubber: Scrubber,
    hold: usize,
    carry: BytesMut,
}

impl StreamScrubber {
    /// Takes a chunk; returns the bytes that are safe to pass on now.
    pub fn push(&mut self, chunk: &[u8]) -> Bytes {
        if self.hold == 0 {
            let mut owned = BytesMut::from(chunk);
            self.scrubber.mask(&mut owned);
            return owned.freeze();
        }
        self.carry.extend_from_slice(chunk);
        self.scrubber.mask(&mut self.carry);
        let ready = self.carry.len().saturating_sub(self.hold);
        self.carry.split_to(ready).freeze()
    }

    /// The bytes still held back, at the end of the body.
    pub fn finish(&mut self) -> Bytes {
        self.scrubber.mask(&mut self.carry);
        self.carry.split().freeze()
    }
}

/// `application/x-www-form-urlencoded` / RFC 3986 encoding of everything
/// but unreserved characters.
fn percent_encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrubber() -> Scrubber {
        let mut s = Scrubber::default();
        s.add_secret("s3cret/with\"quote");
        s.add_literal(b"Y2xpZW50LTE6czNjcmV0");
        s.with_token(b"token-abcdefgh")
    }

    #[test]
    fn every_encoding_is_masked_with_its_length() {
        let s = scrubber();
        let text = r#"{"echo":"Bearer token-abcdefgh","s":"s3cret\/with\"quote","b":"Basic Y2xpZW50LTE6czNjcmV0","p":"s3cret%2Fwith%22quote"}"#;
        let out = s.text(text);
        assert_eq!(out.len(), text.len());
        for leaked in ["token-abcdefgh", "s3cret", "Y2xpZW50LTE6czNjcmV0"] {
            assert!(!out.contains(leaked), "{leaked} in {out}");
        }
        assert!(
            out.starts_with(r#"{"echo":"Bearer **************""#),
            "{out}"
        );
    }

    #[test]
    fn needles_split_across_chunks_are_masked() {
        let text = b"xx token-abcdefgh yy token-abcdefgh";
        for split in 0..text.len() {
            for second in split..text.len() {
                let mut stream = scrubber().stream();
                let mut out = Vec::new();
                out.extend_from_slice(&stream.push(&text[..split]));
                out.extend_from_slice(&stream.push(&text[split..second]));
                out.extend_from_slice(&stream.push(&text[second..]));
                out.extend_from_slice(&stream.finish());
                assert_eq!(
                    out,
                    b"xx ************** yy **************".to_vec(),
                    "{split}/{second}"
                );
            }
        }
    }

    #[test]
    fn short_values_are_not_needles() {
        let mut s = Scrubber::default();
        s.add_secret("short");
        s.add_literal(b"c2hvcnQ");
        assert_eq!(s.text("a short text"), "a short text");
    }
}
