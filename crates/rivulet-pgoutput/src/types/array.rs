//! Array literals as array_out prints them and array_in reads them.
//!
//! ```text
//! {1,2,NULL}   {"a b","NULL",NULL,"q\"uote"}   {{1,2},{3,4}}   [0:1]={7,8}   {}
//! ```
//!
//! Elements are separated by the element type's delimiter (`;` for `box`, `,` for every other
//! built-in type). An element is quoted when it is empty, spells `NULL`, or holds a delimiter,
//! brace, quote, backslash or whitespace; inside or outside quotes a backslash takes the next
//! byte literally. Whitespace around elements is insignificant unless quoted. The dimension
//! decoration (`[lower:upper]=`, printed when a lower bound is not 1) is checked and dropped:
//! [`Value::Array`] has no lower bounds.

use rivulet_core::{GeometricKind, PgType, Value};

use super::{ValueError, parse_text};

/// PostgreSQL's `MAXDIM`; also what keeps a hostile `{{{{…` from exhausting the stack.
const MAX_DIMS: usize = 6;

/// Parses an array literal whose elements are of type `elem`; multi-dimensional arrays become
/// nested [`Value::Array`]s.
pub fn parse_array_text(elem: &PgType, text: &[u8]) -> Result<Value, ValueError> {
    let array_type = PgType::Array(Box::new(elem.clone()));
    let delimiter = match elem {
        PgType::Geometric(GeometricKind::Box) => b';',
        _ => b',',
    };
    let mut parser = Parser {
        s: text,
        pos: 0,
        elem,
        delimiter,
        scratch: Vec::new(),
        lengths: [None; MAX_DIMS],
        scalar_depth: None,
    };
    parser.literal().map_err(|e| match e {
        Failure::Syntax(problem) => ValueError::new(&array_type, problem, text),
        Failure::Element { index, error } => ValueError::new(
            &array_type,
            format!("element {index} {}: {}", error.snippet, error.problem),
            text,
        ),
    })
}

enum Failure {
    Syntax(&'static str),
    /// An element that its type's parser refused; `index` counts from 1 in reading order.
    Element {
        index: usize,
        error: ValueError,
    },
}

impl From<&'static str> for Failure {
    fn from(problem: &'static str) -> Self {
        Failure::Syntax(problem)
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    elem: &'a PgType,
    delimiter: u8,
    /// De-escaped element text; only elements with quotes or backslashes need it.
    scratch: Vec<u8>,
    /// The length every sub-array at each depth must have (arrays are rectangular).
    lengths: [Option<usize>; MAX_DIMS],
    /// The depth at which elements (rather than sub-arrays) sit.
    scalar_depth: Option<usize>,
}

/// array_isspace: what array_in skips around elements.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.pos += 1;
        }
    }

    fn literal(&mut self) -> Result<Value, Failure> {
        self.skip_space();
        if self.peek() == Some(b'[') {
            self.decoration()?;
        }
        if self.peek() != Some(b'{') {
            return Err("expected '{'".into());
        }
        self.pos += 1;
        let mut count = 0;
        let values = self.level(0, &mut count)?;
        self.skip_space();
        if self.pos != self.s.len() {
            return Err("unexpected characters after the closing '}'".into());
        }
        Ok(Value::Array(values))
    }

    /// `[lower:upper]` per dimension then `=`. The bounds must be sane but are otherwise not
    /// compared with the braces' shape; the server printed both.
    fn decoration(&mut self) -> Result<(), Failure> {
        let mut dims = 0;
        while self.peek() == Some(b'[') {
            self.pos += 1;
            dims += 1;
            if dims > MAX_DIMS {
                return Err("more than 6 dimensions".into());
            }
            let first = self.bound()?;
            let (lower, upper) = if self.peek() == Some(b':') {
                self.pos += 1;
                (first, self.bound()?)
            } else {
                (1, first)
            };
            if self.peek() != Some(b']') {
                return Err("expected ']' in the dimension decoration".into());
            }
            self.pos += 1;
            if upper < lower - 1 {
                return Err("upper bound below lower bound in the dimension decoration".into());
            }
            self.skip_space();
        }
        if self.peek() != Some(b'=') {
            return Err("expected '=' after the dimension decoration".into());
        }
        self.pos += 1;
        self.skip_space();
        Ok(())
    }

    fn bound(&mut self) -> Result<i64, Failure> {
        let negative = self.peek() == Some(b'-');
        if negative || self.peek() == Some(b'+') {
            self.pos += 1;
        }
        let start = self.pos;
        let mut value: i64 = 0;
        while let Some(b @ b'0'..=b'9') = self.peek() {
            // Bounds are int4; anything near i64's range is garbage anyway.
            if self.pos - start >= 10 {
                return Err("dimension bound out of range".into());
            }
            value = value * 10 + i64::from(b - b'0');
            self.pos += 1;
        }
        if self.pos == start {
            return Err("expected a number in the dimension decoration".into());
        }
        Ok(if negative { -value } else { value })
    }

    /// The contents of one `{...}` at `depth` (0 for the outermost), after its `{`.
    fn level(&mut self, depth: usize, count: &mut usize) -> Result<Vec<Value>, Failure> {
        let mut values = Vec::new();
        self.skip_space();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return self.close(depth, values);
        }
        loop {
            self.skip_space();
            if self.peek() == Some(b'{') {
                if depth + 1 >= MAX_DIMS {
                    return Err("more than 6 dimensions".into());
                }
                self.pos += 1;
                let sub = self.level(depth + 1, count)?;
                values.push(Value::Array(sub));
            } else {
                self.mark_scalar_depth(depth)?;
                *count += 1;
                values.push(self.element(*count)?);
            }
            self.skip_space();
            match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    return self.close(depth, values);
                }
                Some(b) if b == self.delimiter => self.pos += 1,
                Some(_) => return Err("expected a delimiter or '}' after an element".into()),
                None => return Err("missing '}'".into()),
            }
        }
    }

    /// Checks that a finished sub-array has the same length as its siblings.
    fn close(&mut self, depth: usize, values: Vec<Value>) -> Result<Vec<Value>, Failure> {
        match self.lengths[depth] {
            None => self.lengths[depth] = Some(values.len()),
            Some(len) if len == values.len() => {}
            Some(_) => return Err("sub-arrays of different lengths (arrays must be rectangular)".into()),
        }
        // Sub-arrays must hold elements at one depth: `{{1},2}` and `{{1},{}}` are not arrays.
        if values.is_empty() && depth > 0 {
            return Err("empty sub-array".into());
        }
        Ok(values)
    }

    fn mark_scalar_depth(&mut self, depth: usize) -> Result<(), Failure> {
        match self.scalar_depth {
            None => self.scalar_depth = Some(depth),
            Some(d) if d == depth => {}
            Some(_) => return Err("elements and sub-arrays mixed at one level".into()),
        }
        Ok(())
    }

    /// One element: unquoted text is taken as a slice when it has no backslashes; otherwise it is
    /// de-escaped into `scratch`.
    fn element(&mut self, index: usize) -> Result<Value, Failure> {
        let start = self.pos;
        let mut end = start;
        let mut simple = true;
        while let Some(b) = self.s.get(end).copied() {
            if b == self.delimiter || b == b'}' {
                break;
            }
            if b == b'"' || b == b'\\' || b == b'{' {
                simple = false;
                break;
            }
            end += 1;
        }
        if simple {
            let mut trimmed = end;
            while trimmed > start && is_space(self.s[trimmed - 1]) {
                trimmed -= 1;
            }
            self.pos = end;
            let text = &self.s[start..trimmed];
            if text.is_empty() {
                return Err("empty unquoted element".into());
            }
            if text.eq_ignore_ascii_case(b"NULL") {
                return Ok(Value::Null);
            }
            return parse_text(self.elem, text).map_err(|error| Failure::Element { index, error });
        }
        self.escaped_element(index)
    }

    fn escaped_element(&mut self, index: usize) -> Result<Value, Failure> {
        self.scratch.clear();
        let mut in_quotes = false;
        // Length of `scratch` up to its last byte that trailing whitespace cannot remove.
        let mut keep = 0;
        loop {
            let Some(b) = self.peek() else {
                return Err(if in_quotes {
                    "unterminated quoted element"
                } else {
                    "missing '}'"
                }
                .into());
            };
            match b {
                b'\\' => {
                    let Some(&next) = self.s.get(self.pos + 1) else {
                        return Err("backslash at the end of the input".into());
                    };
                    self.scratch.push(next);
                    keep = self.scratch.len();
                    self.pos += 2;
                    continue;
                }
                b'"' => in_quotes = !in_quotes,
                _ if in_quotes => {
                    self.scratch.push(b);
                    keep = self.scratch.len();
                }
                b'{' => return Err("unexpected '{' inside an element".into()),
                b'}' => break,
                _ if b == self.delimiter => break,
                _ => {
                    self.scratch.push(b);
                    if !is_space(b) {
                        keep = self.scratch.len();
                    }
                }
            }
            self.pos += 1;
        }
        self.scratch.truncate(keep);
        // Quoted or escaped text is never the NULL marker, even when it reads `NULL`.
        parse_text(self.elem, &self.scratch).map_err(|error| Failure::Element { index, error })
    }
}
