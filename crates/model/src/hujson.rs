//! HuJSON (JSON with `//` and `/* */` comments and trailing commas), the
//! format of the Tailscale policy file: the one reader, for `render`'s
//! round-trip tests and `check`'s reading of a committed policy.
//!
//! ```
//! let value = avalanche_model::hujson::parse("{ // c\n \"a\": [1,],\n}").unwrap();
//! assert_eq!(value["a"][0], 1);
//! ```

/// Why a HuJSON text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HujsonError {
    /// Not HuJSON: the position is 1-based, in the original text.
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Valid HuJSON, but not a policy of the expected shape.
    #[error("{0}")]
    Shape(String),
}

/// Turns HuJSON into JSON: comments become spaces (newlines kept, so positions in
/// errors still point into the original text) and trailing commas are dropped.
pub fn standardize(text: &str) -> Result<String, HujsonError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    // Index in `out` of the last comma outside strings, if only whitespace followed it.
    let mut pending_comma: Option<usize> = None;
    let mut i = 0;
    let (mut line, mut line_start) = (1usize, 0usize);
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'"' => {
                pending_comma = None;
                out.push(b);
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => {
                            return Err(HujsonError::Syntax {
                                line,
                                column: i - line_start + 1,
                                message: "unterminated string".to_owned(),
                            });
                        }
                        Some(b'\\') => {
                            out.push(b'\\');
                            if let Some(&next) = bytes.get(i + 1) {
                                out.push(next);
                            }
                            i += 2;
                        }
                        Some(b'"') => {
                            out.push(b'"');
                            i += 1;
                            break;
                        }
                        Some(&c) => {
                            out.push(c);
                            i += 1;
                        }
                    }
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    out.push(b' ');
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let (start_line, start_col) = (line, i - line_start + 1);
                out.extend_from_slice(b"  ");
                i += 2;
                loop {
                    match bytes.get(i) {
                        None => {
                            return Err(HujsonError::Syntax {
                                line: start_line,
                                column: start_col,
                                message: "unterminated block comment".to_owned(),
                            });
                        }
                        Some(b'*') if bytes.get(i + 1) == Some(&b'/') => {
                            out.extend_from_slice(b"  ");
                            i += 2;
                            break;
                        }
                        Some(b'\n') => {
                            out.push(b'\n');
                            line += 1;
                            i += 1;
                            line_start = i;
                        }
                        Some(_) => {
                            out.push(b' ');
                            i += 1;
                        }
                    }
                }
            }
            b',' => {
                pending_comma = Some(out.len());
                out.push(b);
                i += 1;
            }
            b'}' | b']' => {
                if let Some(at) = pending_comma.take() {
                    out[at] = b' ';
                }
                out.push(b);
                i += 1;
            }
            b'\n' => {
                out.push(b);
                i += 1;
                line += 1;
                line_start = i;
            }
            b' ' | b'\t' | b'\r' => {
                out.push(b);
                i += 1;
            }
            _ => {
                pending_comma = None;
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|e| HujsonError::Shape(format!("not UTF-8: {e}")))
}

/// Parses a HuJSON text into a JSON value.
pub fn parse(text: &str) -> Result<serde_json::Value, HujsonError> {
    let json = standardize(text)?;
    serde_json::from_str(&json).map_err(|e| HujsonError::Syntax {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standardize_keeps_strings_and_positions() {
        let text = "{\n  // c \"x\"\n  \"a//b\": [1, 2, /* x\n */],\n  \"c\": \"d,}\",\n}\n";
        let value = parse(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(value, serde_json::json!({"a//b": [1, 2], "c": "d,}"}));
        match parse("{\n  \"a\" 1\n}") {
            Err(HujsonError::Syntax { line, .. }) => assert_eq!(line, 2),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse("{ /* open"),
            Err(HujsonError::Syntax {
                line: 1,
                column: 3,
                ..
            })
        ));
    }
}
