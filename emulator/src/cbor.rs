//! A minimal CBOR (RFC 8949) reader and writer: enough for WebAuthn
//! attestation objects and COSE keys. Definite lengths only; tags are read
//! through (the tag number is dropped); floats are decoded but never written.

/// A decoded CBOR item.
#[derive(Clone, Debug, PartialEq)]
pub enum Cbor {
    /// Major types 0 and 1 (unsigned and negative integers).
    Int(i128),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Cbor>),
    /// Map entries in wire order.
    Map(Vec<(Cbor, Cbor)>),
    Bool(bool),
    Null,
    Undefined,
    Float(f64),
}

impl Cbor {
    /// The value of `key` in a map.
    pub fn get(&self, key: &Cbor) -> Option<&Cbor> {
        match self {
            Cbor::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value of a text key in a map.
    pub fn get_text(&self, key: &str) -> Option<&Cbor> {
        self.get(&Cbor::Text(key.to_string()))
    }

    /// The value of an integer key in a map (COSE keys).
    pub fn get_int(&self, key: i128) -> Option<&Cbor> {
        self.get(&Cbor::Int(key))
    }

    pub fn as_int(&self) -> Option<i128> {
        match self {
            Cbor::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Cbor::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Cbor::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Cbor, Cbor)]> {
        match self {
            Cbor::Map(m) => Some(m),
            _ => None,
        }
    }
}

const MAX_DEPTH: usize = 16;

/// Decodes one item from the start of `input`; returns it and the number of
/// bytes it used (trailing bytes are left to the caller).
pub fn decode(input: &[u8]) -> Result<(Cbor, usize), String> {
    let mut r = Reader { buf: input, pos: 0 };
    let v = r.item(0)?;
    Ok((v, r.pos))
}

/// Decodes exactly one item that fills all of `input`.
pub fn decode_all(input: &[u8]) -> Result<Cbor, String> {
    let (v, used) = decode(input)?;
    if used != input.len() {
        return Err(format!(
            "{} trailing bytes after the CBOR item",
            input.len() - used
        ));
    }
    Ok(v)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or("truncated CBOR")?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn arg(&mut self, ai: u8) -> Result<u64, String> {
        Ok(match ai {
            0..=23 => ai as u64,
            24 => self.take(1)?[0] as u64,
            25 => u16::from_be_bytes(self.take(2)?.try_into().unwrap()) as u64,
            26 => u32::from_be_bytes(self.take(4)?.try_into().unwrap()) as u64,
            27 => u64::from_be_bytes(self.take(8)?.try_into().unwrap()),
            31 => return Err("indefinite-length CBOR items are not supported".into()),
            _ => return Err(format!("reserved CBOR additional information {ai}")),
        })
    }

    fn len(&mut self, ai: u8) -> Result<usize, String> {
        let n = self.arg(ai)?;
        // Every element takes at least one byte: bounds allocations.
        if n > (self.buf.len() - self.pos) as u64 {
            return Err("CBOR length exceeds the input".into());
        }
        Ok(n as usize)
    }

    fn item(&mut self, depth: usize) -> Result<Cbor, String> {
        if depth > MAX_DEPTH {
            return Err("CBOR nesting too deep".into());
        }
        let ib = self.take(1)?[0];
        let (major, ai) = (ib >> 5, ib & 0x1f);
        Ok(match major {
            0 => Cbor::Int(self.arg(ai)? as i128),
            1 => Cbor::Int(-1 - self.arg(ai)? as i128),
            2 => {
                let n = self.len(ai)?;
                Cbor::Bytes(self.take(n)?.to_vec())
            }
            3 => {
                let n = self.len(ai)?;
                let s = self.take(n)?;
                Cbor::Text(String::from_utf8(s.to_vec()).map_err(|_| "invalid UTF-8 in CBOR text")?)
            }
            4 => {
                let n = self.len(ai)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(self.item(depth + 1)?);
                }
                Cbor::Array(v)
            }
            5 => {
                let n = self.len(ai)?;
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    let k = self.item(depth + 1)?;
                    let val = self.item(depth + 1)?;
                    v.push((k, val));
                }
                Cbor::Map(v)
            }
            6 => {
                self.arg(ai)?;
                self.item(depth + 1)?
            }
            _ => match ai {
                20 => Cbor::Bool(false),
                21 => Cbor::Bool(true),
                22 => Cbor::Null,
                23 => Cbor::Undefined,
                25 => {
                    let h = u16::from_be_bytes(self.take(2)?.try_into().unwrap());
                    Cbor::Float(f16_to_f64(h))
                }
                26 => Cbor::Float(f32::from_be_bytes(self.take(4)?.try_into().unwrap()) as f64),
                27 => Cbor::Float(f64::from_be_bytes(self.take(8)?.try_into().unwrap())),
                _ => return Err(format!("unsupported CBOR simple value {ai}")),
            },
        })
    }
}

fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1f) as i32;
    let frac = (h & 0x3ff) as f64;
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 if frac == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= u8::MAX as u64 {
        out.extend_from_slice(&[m | 24, n as u8]);
    } else if n <= u16::MAX as u64 {
        out.push(m | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= u32::MAX as u64 {
        out.push(m | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Encodes an item (definite lengths, map entries in the given order).
/// Floats are not supported and encode as `null`.
pub fn encode(v: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(&mut out, v);
    out
}

fn encode_into(out: &mut Vec<u8>, v: &Cbor) {
    match v {
        Cbor::Int(i) if *i >= 0 => head(out, 0, *i as u64),
        Cbor::Int(i) => head(out, 1, (-1 - *i) as u64),
        Cbor::Bytes(b) => {
            head(out, 2, b.len() as u64);
            out.extend_from_slice(b);
        }
        Cbor::Text(s) => {
            head(out, 3, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
        Cbor::Array(a) => {
            head(out, 4, a.len() as u64);
            for x in a {
                encode_into(out, x);
            }
        }
        Cbor::Map(m) => {
            head(out, 5, m.len() as u64);
            for (k, x) in m {
                encode_into(out, k);
                encode_into(out, x);
            }
        }
        Cbor::Bool(false) => out.push(0xf4),
        Cbor::Bool(true) => out.push(0xf5),
        Cbor::Null | Cbor::Float(_) => out.push(0xf6),
        Cbor::Undefined => out.push(0xf7),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rfc_vectors() {
        // RFC 8949 appendix A.
        assert_eq!(decode_all(&[0x18, 0x64]).unwrap(), Cbor::Int(100));
        assert_eq!(decode_all(&[0x38, 0x63]).unwrap(), Cbor::Int(-100));
        assert_eq!(decode_all(&[0x26]).unwrap(), Cbor::Int(-7));
        assert_eq!(decode_all(&[0xf9, 0x3c, 0x00]).unwrap(), Cbor::Float(1.0));
        assert_eq!(
            decode_all(&[0x64, 0x49, 0x45, 0x54, 0x46]).unwrap(),
            Cbor::Text("IETF".into())
        );
        let v = Cbor::Map(vec![
            (Cbor::Int(1), Cbor::Int(2)),
            (Cbor::Int(3), Cbor::Int(-7)),
            (Cbor::Int(-2), Cbor::Bytes(vec![7; 32])),
            (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
            (
                Cbor::Text("a".into()),
                Cbor::Array(vec![Cbor::Bool(true), Cbor::Null, Cbor::Int(70000)]),
            ),
        ]);
        let bytes = encode(&v);
        assert_eq!(decode_all(&bytes).unwrap(), v);
        assert_eq!(v.get_int(3).and_then(Cbor::as_int), Some(-7));
        // Trailing bytes and truncation.
        let mut more = bytes.clone();
        more.push(0);
        assert!(decode_all(&more).is_err());
        assert_eq!(decode(&more).unwrap().1, bytes.len());
        assert!(decode_all(&bytes[..bytes.len() - 1]).is_err());
        // Huge declared lengths do not allocate.
        assert!(decode_all(&[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(decode_all(&[0x9f]).is_err());
    }
}
