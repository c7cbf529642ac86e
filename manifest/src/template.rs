//! Templates: text with `{name}` placeholders, the manifest's way to build
//! URLs, header values and guest settings from a connection's settings.

use std::borrow::Cow;

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text.
    Text(String),
    /// A placeholder: a setting, a derived value or an outbound base.
    Var(String),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses `text`; `{` and `}` are reserved for placeholders, whose names
    /// are letters, digits, `_` and `-`.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                return Err(format!("'{text}' has a '}}' without its '{{'"));
            }
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| format!("'{text}' has a '{{' without its '}}'"))?;
            let name = &after[..close];
            let valid = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !valid {
                return Err(format!("'{text}' has an invalid placeholder '{{{name}}}'"));
            }
            parts.push(Part::Var(name.to_owned()));
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template { parts })
    }

    /// The placeholders' names, in order.
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(name) => Some(name.as_str()),
            Part::Text(_) => None,
        })
    }

    /// The parts.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The placeholders that decide a URL template's origin (scheme, host,
    /// port): a leading one (the whole URL comes from it) and those before
    /// the path begins.
    pub fn origin_vars(&self) -> Vec<&str> {
        // A leading placeholder carries the whole origin; the rest is path.
        if let Some(Part::Var(name)) = self.parts.first() {
            return vec![name.as_str()];
        }
        let mut vars = Vec::new();
        let mut text = String::new();
        for (i, part) in self.parts.iter().enumerate() {
            match part {
                Part::Var(name) if i == 0 => vars.push(name.as_str()),
                // Without "://" before it, the placeholder could still be
                // part of the origin: count it.
                Part::Var(name) => {
                    let after_scheme = text.split_once("://").map(|(_, rest)| rest);
                    if after_scheme.is_none_or(|rest| !rest.contains('/')) {
                        vars.push(name.as_str());
                    }
                    text.push('x');
                }
                Part::Text(t) => text.push_str(t),
            }
        }
        vars
    }

    /// The text with every placeholder replaced by `lookup`'s value. A
    /// leading placeholder is inserted as it is (it is a whole URL or
    /// value); every other one is percent-encoded as a path segment, so a
    /// value cannot change the URL's shape. `None` names the first
    /// placeholder `lookup` has no value for.
    pub fn render<'a>(
        &self,
        lookup: impl Fn(&str) -> Option<Cow<'a, str>>,
    ) -> Result<String, String> {
        let mut out = String::new();
        for (i, part) in self.parts.iter().enumerate() {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Var(name) => {
                    let value = lookup(name).ok_or_else(|| name.clone())?;
                    if i == 0 {
                        out.push_str(&value);
                    } else {
                        out.push_str(&encode(&value));
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn encode(raw: &str) -> String {
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

    #[test]
    fn templates_parse_render_and_know_their_origin() {
        let t = Template::parse("https://api.pingone.{tld}/v1/environments/{env}/").unwrap();
        assert_eq!(t.vars().collect::<Vec<_>>(), ["tld", "env"]);
        assert_eq!(t.origin_vars(), ["tld"]);
        let rendered = t
            .render(|k| Some(Cow::Borrowed(if k == "tld" { "com.au" } else { "a/b c" })))
            .unwrap();
        assert_eq!(
            rendered,
            "https://api.pingone.com.au/v1/environments/a%2Fb%20c/"
        );
        let whole = Template::parse("{baseUrl}/items/{id}").unwrap();
        assert_eq!(whole.origin_vars(), ["baseUrl"]);
        assert_eq!(
            whole
                .render(|_| Some("https://x.example/v1".into()))
                .unwrap(),
            "https://x.example/v1/items/https%3A%2F%2Fx.example%2Fv1"
        );
        assert_eq!(t.render(|_| None).unwrap_err(), "tld");
        for bad in ["{", "}", "{a b}", "x{}y", "{a"] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }
}
