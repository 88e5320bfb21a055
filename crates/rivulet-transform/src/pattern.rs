//! Java regular expressions as Debezium and Kafka Connect use them, on the `regex` crate.
//!
//! * Kafka Connect and Debezium test with `Matcher.matches()`: the pattern must match the whole
//!   string, so patterns are compiled anchored (`\A(?:…)\z`).
//! * RegexRouter-style routing then calls `replaceFirst`, which replaces the first match found
//!   by a plain search (not necessarily the whole string: `a|ab` on `ab` replaces `a`), so an
//!   unanchored copy does the replacing.
//! * Replacement strings use Java's syntax (`$1`, `${name}`, `\$` for a literal `$`), parsed
//!   once into literal and group parts ([`Replacement`]).
//! * Debezium's comma-separated regex lists (`column.exclude.list`, …) split on commas not
//!   preceded by a backslash, trim each item, and match case-insensitively.
//!
//! The `regex` crate has no look-around, back-references or possessive quantifiers; patterns
//! using them fail at configuration time with the property's name, never at run time.

use regex::{Captures, Regex, RegexBuilder};

/// A compiled Java pattern.
#[derive(Clone, Debug)]
pub(crate) struct JavaRegex {
    /// `\A(?:pattern)\z`: `Matcher.matches()`.
    whole: Regex,
    /// The pattern itself: `find()` / `replaceFirst()`.
    search: Regex,
}

impl JavaRegex {
    pub fn new(pattern: &str) -> Result<Self, String> {
        Self::build(pattern, false)
    }

    /// Case-insensitive, as Debezium compiles its include/exclude lists.
    pub fn case_insensitive(pattern: &str) -> Result<Self, String> {
        Self::build(pattern, true)
    }

    fn build(pattern: &str, case_insensitive: bool) -> Result<Self, String> {
        let compile = |p: &str| {
            RegexBuilder::new(p)
                .case_insensitive(case_insensitive)
                .build()
                .map_err(|e| one_line(&e.to_string()))
        };
        Ok(JavaRegex {
            whole: compile(&format!(r"\A(?:{pattern})\z"))?,
            search: compile(pattern)?,
        })
    }

    /// Java's `matcher(s).matches()`.
    pub fn matches(&self, s: &str) -> bool {
        self.whole.is_match(s)
    }

    /// Java's `matcher(s).replaceFirst(replacement)`.
    pub fn replace_first(&self, s: &str, replacement: &Replacement) -> String {
        match self.search.captures(s) {
            Some(caps) => {
                let whole = caps.get(0).map_or(0..0, |m| m.range());
                let mut out = String::with_capacity(s.len());
                out.push_str(&s[..whole.start]);
                replacement.expand(&caps, &mut out);
                out.push_str(&s[whole.end..]);
                out
            }
            None => s.to_string(),
        }
    }

    fn group_count(&self) -> usize {
        self.search.captures_len() - 1
    }

    fn has_group(&self, name: &str) -> bool {
        self.search.capture_names().flatten().any(|n| n == name)
    }
}

/// The regex crate's errors span several lines (the pattern with a caret under the problem);
/// errors here are one line.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.chars().all(|c| c == '^' || c == ' '))
        .collect::<Vec<_>>()
        .join(": ")
}

/// A Java replacement string, split into its parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Replacement {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    Group(usize),
    Named(String),
}

impl Replacement {
    /// Parses `replacement` as `Matcher.appendReplacement` reads it, against `regex`'s groups:
    /// `$` followed by digits takes as many digits as still name an existing group, `${name}` a
    /// named group, `\x` is a literal `x`. What Java rejects at run time is rejected here.
    pub fn parse(replacement: &str, regex: &JavaRegex) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = replacement.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(escaped) => literal.push(escaped),
                    None => return Err("character to be escaped is missing at the end".into()),
                },
                '$' => {
                    let part = match chars.peek() {
                        Some('{') => {
                            chars.next();
                            let mut name = String::new();
                            loop {
                                match chars.next() {
                                    Some('}') => break,
                                    Some(c) if c.is_ascii_alphanumeric() => name.push(c),
                                    _ => return Err("named capturing group is missing trailing '}'".into()),
                                }
                            }
                            if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
                                return Err(format!("invalid group name '{name}'"));
                            }
                            if !regex.has_group(&name) {
                                return Err(format!("no group with name {{{name}}}"));
                            }
                            Part::Named(name)
                        }
                        Some(d) if d.is_ascii_digit() => {
                            let mut number = d.to_digit(10).unwrap_or(0) as usize;
                            chars.next();
                            if number > regex.group_count() {
                                return Err(format!("no group {number}"));
                            }
                            // Java keeps taking digits while the number still names a group.
                            while let Some(next) = chars.peek().and_then(|c| c.to_digit(10)) {
                                let longer = number * 10 + next as usize;
                                if longer > regex.group_count() {
                                    break;
                                }
                                number = longer;
                                chars.next();
                            }
                            Part::Group(number)
                        }
                        _ => {
                            return Err(
                                "illegal group reference: '$' must be followed by a group number or {name}"
                                    .into(),
                            );
                        }
                    };
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(part);
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Replacement { parts })
    }

    fn expand(&self, caps: &Captures<'_>, out: &mut String) {
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                // A group that took no part in the match appends nothing, as in Java.
                Part::Group(n) => out.push_str(caps.get(*n).map_or("", |m| m.as_str())),
                Part::Named(name) => out.push_str(caps.name(name).map_or("", |m| m.as_str())),
            }
        }
    }
}

/// Splits a Debezium regex list (`a\.b,c\,d`) as Debezium's `RegExSplitter` does: on commas
/// not escaped with a backslash, each item trimmed, `\,` turned into `,`, empty items dropped.
pub(crate) fn split_regex_list(input: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut chars = input.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                current.push(c);
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            ',' => items.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    items.push(current);
    items
        .into_iter()
        .map(|item| item.trim().replace("\\,", ","))
        .filter(|item| !item.is_empty())
        .collect()
}

/// Compiles regexes for case-insensitive whole-string matching (Debezium's lists).
pub(crate) fn compile_list(patterns: &[String]) -> Result<Vec<JavaRegex>, (String, String)> {
    patterns
        .iter()
        .map(|p| JavaRegex::case_insensitive(p).map_err(|e| (p.clone(), e)))
        .collect()
}

/// True if any pattern matches `s` whole.
pub(crate) fn any_matches(patterns: &[JavaRegex], s: &str) -> bool {
    patterns.iter().any(|p| p.matches(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(regex: &str, replacement: &str, topic: &str) -> Option<String> {
        let regex = JavaRegex::new(regex).unwrap();
        let replacement = Replacement::parse(replacement, &regex).unwrap();
        regex
            .matches(topic)
            .then(|| regex.replace_first(topic, &replacement))
    }

    #[test]
    fn routes_like_regex_router() {
        assert_eq!(
            route(r"dbz\.public\.(.*)", "cdc.$1", "dbz.public.orders").as_deref(),
            Some("cdc.orders")
        );
        assert_eq!(route(r"dbz\.public\.(.*)", "cdc.$1", "x.dbz.public.orders"), None);
        assert_eq!(
            route("(?<t>.*)", "outbox.event.${t}", "Order").as_deref(),
            Some("outbox.event.Order")
        );
        // replaceFirst searches again: the first match is "a", not the whole "ab".
        assert_eq!(route("a|ab", "X", "ab").as_deref(), Some("Xb"));
        assert_eq!(route("(a)(b)?", r"[$2]\$$1", "a").as_deref(), Some("[]$a"));
    }

    #[test]
    fn replacement_group_numbers_as_in_java() {
        // One group: "$12" is group 1 followed by "2".
        assert_eq!(route("(x)", "$12", "x").as_deref(), Some("x2"));
        let regex = JavaRegex::new("(x)").unwrap();
        assert!(Replacement::parse("$2", &regex).is_err());
        assert!(Replacement::parse("$x", &regex).is_err());
        assert!(Replacement::parse("${nope}", &regex).is_err());
        assert!(Replacement::parse("a\\", &regex).is_err());
    }

    #[test]
    fn unsupported_syntax_is_a_one_line_error() {
        let err = JavaRegex::new("a(?=b)").unwrap_err();
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn debezium_lists() {
        assert_eq!(
            split_regex_list(r" public\.a\..* , b\,c,,d "),
            vec![r"public\.a\..*", "b,c", "d"]
        );
        let list = compile_list(&split_regex_list(r"public\.people\.(secret|ID)")).unwrap();
        assert!(any_matches(&list, "public.people.id"));
        assert!(!any_matches(&list, "public.people.identity"));
    }
}
