//! A small SCIM filter parser for `GET .../devices?filter=...`.
//!
//! Grammar (PingOne supports `eq` on `status`, `type` and `mobilePayload`,
//! combined with `and` / `or` and parentheses):
//! ```text
//! expr   := term ("or" term)*
//! term   := factor ("and" factor)*
//! factor := "(" expr ")" | attr "eq" STRING
//! ```
//! `and` binds tighter than `or`. Attribute names and operators are
//! case-insensitive; values are compared exactly.

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Eq(Attr, String),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Attr {
    Status,
    Type,
    MobilePayload,
}

/// What a filter is evaluated against.
pub trait Filterable {
    fn attr(&self, a: Attr) -> Option<&str>;
}

impl Filter {
    pub fn matches(&self, item: &impl Filterable) -> bool {
        match self {
            Filter::Eq(a, v) => item.attr(*a) == Some(v.as_str()),
            Filter::And(l, r) => l.matches(item) && r.matches(item),
            Filter::Or(l, r) => l.matches(item) || r.matches(item),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Word(String),
    Str(String),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Tok::LParen);
            }
            ')' => {
                chars.next();
                out.push(Tok::RParen);
            }
            '"' => {
                chars.next();
                let mut v = String::new();
                loop {
                    match chars.next() {
                        None => return Err("unterminated string literal".into()),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e) => v.push(e),
                            None => return Err("unterminated string literal".into()),
                        },
                        Some(ch) => v.push(ch),
                    }
                }
                out.push(Tok::Str(v));
            }
            c if c.is_ascii_alphanumeric() || c == '_' || c == '.' => {
                let mut w = String::new();
                while let Some(&ch) = chars.peek() {
                    if ch.is_ascii_alphanumeric() || ch == '_' || ch == '.' {
                        w.push(ch);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Tok::Word(w));
            }
            other => return Err(format!("unexpected character '{other}'")),
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn expr(&mut self) -> Result<Filter, String> {
        let mut left = self.term()?;
        while self.peek_word("or") {
            self.pos += 1;
            let right = self.term()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Filter, String> {
        let mut left = self.factor()?;
        while self.peek_word("and") {
            self.pos += 1;
            let right = self.factor()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn factor(&mut self) -> Result<Filter, String> {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::LParen) => {
                self.pos += 1;
                let e = self.expr()?;
                match self.toks.get(self.pos) {
                    Some(Tok::RParen) => {
                        self.pos += 1;
                        Ok(e)
                    }
                    _ => Err("missing ')'".into()),
                }
            }
            Some(Tok::Word(name)) => {
                let attr = match name.to_ascii_lowercase().as_str() {
                    "status" => Attr::Status,
                    "type" => Attr::Type,
                    "mobilepayload" => Attr::MobilePayload,
                    _ => return Err(format!("unsupported attribute '{name}'")),
                };
                self.pos += 1;
                match self.toks.get(self.pos) {
                    Some(Tok::Word(op)) if op.eq_ignore_ascii_case("eq") => self.pos += 1,
                    Some(Tok::Word(op)) => {
                        return Err(format!("unsupported operator '{op}' (only eq)"))
                    }
                    _ => return Err(format!("expected 'eq' after '{name}'")),
                }
                match self.toks.get(self.pos).cloned() {
                    Some(Tok::Str(v)) => {
                        self.pos += 1;
                        Ok(Filter::Eq(attr, v))
                    }
                    _ => Err("expected a quoted string value".into()),
                }
            }
            Some(t) => Err(format!("unexpected token {t:?}")),
            None => Err("unexpected end of filter".into()),
        }
    }
}

/// Parses a filter expression; the error is a human-readable reason.
pub fn parse(s: &str) -> Result<Filter, String> {
    let toks = tokenize(s)?;
    let mut p = Parser { toks, pos: 0 };
    let f = p.expr()?;
    if p.pos != p.toks.len() {
        return Err(format!("unexpected trailing input {:?}", p.toks[p.pos]));
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct D(&'static str, &'static str);
    impl Filterable for D {
        fn attr(&self, a: Attr) -> Option<&str> {
            match a {
                Attr::Status => Some(self.0),
                Attr::Type => Some(self.1),
                Attr::MobilePayload => None,
            }
        }
    }

    #[test]
    fn simple_and_compound() {
        let f = parse(r#"status eq "ACTIVE""#).unwrap();
        assert!(f.matches(&D("ACTIVE", "SMS")));
        assert!(!f.matches(&D("ACTIVATION_REQUIRED", "SMS")));

        let f = parse(r#"(status eq "ACTIVATION_REQUIRED") and (type eq "SMS")"#).unwrap();
        assert!(f.matches(&D("ACTIVATION_REQUIRED", "SMS")));
        assert!(!f.matches(&D("ACTIVE", "SMS")));
        assert!(!f.matches(&D("ACTIVATION_REQUIRED", "EMAIL")));

        let f = parse(r#"type eq "SMS" or type eq "EMAIL" and status eq "ACTIVE""#).unwrap();
        // and binds tighter: SMS or (EMAIL and ACTIVE)
        assert!(f.matches(&D("ACTIVATION_REQUIRED", "SMS")));
        assert!(!f.matches(&D("ACTIVATION_REQUIRED", "EMAIL")));
        assert!(f.matches(&D("ACTIVE", "EMAIL")));

        let f = parse(r#"(type eq "SMS" OR type eq "EMAIL") AND Status EQ "ACTIVE""#).unwrap();
        assert!(!f.matches(&D("ACTIVATION_REQUIRED", "SMS")));
        assert!(f.matches(&D("ACTIVE", "SMS")));
        assert!(!f.matches(&D("ACTIVE", "TOTP")));
    }

    #[test]
    fn garbage_is_rejected() {
        for bad in [
            "",
            "status",
            r#"status eq"#,
            r#"status ne "ACTIVE""#,
            r#"nickname eq "x""#,
            r#"(status eq "ACTIVE""#,
            r#"status eq "ACTIVE" and"#,
            r#"status eq "ACTIVE")"#,
            r#"status eq "ACTIVE"#,
            "status eq ACTIVE",
            "!!",
        ] {
            assert!(parse(bad).is_err(), "{bad} should not parse");
        }
    }
}
