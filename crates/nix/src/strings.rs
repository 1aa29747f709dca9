//! Nix string literals: escapes and `''…''` indentation stripping, exactly as the
//! Nix 2.x lexer (`lexer.l`) and parser (`stripIndentation`) do them.
use rnix::ast::{self, AstToken, InterpolPart};

/// A piece of a string literal after unescaping.
pub(crate) enum Piece {
    /// Literal text.
    Text(String),
    /// `${ … }`.
    Interp(ast::Interpol),
}

/// True for `''…''` strings.
pub(crate) fn is_indented(s: &ast::Str) -> bool {
    use rowan::ast::AstNode;
    s.syntax()
        .first_token()
        .is_some_and(|t| t.kind() == rnix::SyntaxKind::TOKEN_STRING_START && t.text() == "''")
}

/// Raw parts (literal source text, interpolations), adjacent literals joined.
fn raw_parts(s: &ast::Str) -> Vec<InterpolPart<String>> {
    let mut out: Vec<InterpolPart<String>> = Vec::new();
    for part in s.parts() {
        match part {
            InterpolPart::Literal(lit) => {
                let text = lit.syntax().text();
                if let Some(InterpolPart::Literal(prev)) = out.last_mut() {
                    prev.push_str(text);
                } else {
                    out.push(InterpolPart::Literal(text.to_string()));
                }
            }
            InterpolPart::Interpolation(i) => out.push(InterpolPart::Interpolation(i)),
        }
    }
    out
}

/// The pieces of a string literal, unescaped (and de-indented for `''` strings).
pub(crate) fn pieces(s: &ast::Str) -> Vec<Piece> {
    let raw = raw_parts(s);
    if is_indented(s) {
        indented(raw)
    } else {
        raw.into_iter()
            .map(|p| match p {
                InterpolPart::Literal(text) => Piece::Text(unescape(&text)),
                InterpolPart::Interpolation(i) => Piece::Interp(i),
            })
            .collect()
    }
}

/// The text of a `"…"` literal that needs no unescaping (the common case), built
/// with one allocation, read from the green tree (no cursor per token).
pub(crate) fn plain(s: &ast::Str) -> Option<std::rc::Rc<str>> {
    use rowan::NodeOrToken::Token;
    use rowan::ast::AstNode;
    let raw = |k: rnix::SyntaxKind| rowan::SyntaxKind(k as u16);
    let mut children = s.syntax().green().children();
    let (Some(Token(start)), Some(Token(content)), Some(Token(end)), None) = (
        children.next(),
        children.next(),
        children.next(),
        children.next(),
    ) else {
        return None;
    };
    if start.text() != "\""
        || content.kind() != raw(rnix::SyntaxKind::TOKEN_STRING_CONTENT)
        || end.kind() != raw(rnix::SyntaxKind::TOKEN_STRING_END)
    {
        return None;
    }
    let text = content.text();
    (!text.contains(['\\', '\r'])).then(|| std::rc::Rc::from(text))
}

/// True when the literal has a `${ … }` (its only child nodes are interpolations).
pub(crate) fn has_interpolation(s: &ast::Str) -> bool {
    use rowan::ast::AstNode;
    s.syntax()
        .green()
        .children()
        .any(|c| matches!(c, rowan::NodeOrToken::Node(_)))
}

/// The text of a string literal without interpolations, if it has none.
pub(crate) fn static_text(s: &ast::Str) -> Option<String> {
    let mut out = String::new();
    for p in pieces(s) {
        match p {
            Piece::Text(t) => out.push_str(&t),
            Piece::Interp(_) => return None,
        }
    }
    Some(out)
}

/// Nix's `unescapeStr`: `\n \r \t`, any other escaped char is itself; raw CR and
/// CRLF become LF.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => {}
            },
            '\r' => {
                out.push('\n');
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// One token of an indented string as Nix's lexer produces it.
enum IndTok {
    /// Text; `indent` is false for escapes, a lone `$` and a lone `'`.
    Str {
        text: String,
        indent: bool,
    },
    Interp(ast::Interpol),
}

/// Splits the raw text of an indented string part the way `lexer.l` does.
fn lex_indented(raw: &str, out: &mut Vec<IndTok>) {
    let b: Vec<char> = raw.chars().collect();
    let mut i = 0;
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut Vec<IndTok>| {
        if !run.is_empty() {
            out.push(IndTok::Str {
                text: std::mem::take(run),
                indent: true,
            });
        }
    };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '\'' && next == Some('\'') {
            flush(&mut run, out);
            match b.get(i + 2).copied() {
                Some('$') => {
                    out.push(IndTok::Str {
                        text: "$".into(),
                        indent: false,
                    });
                    i += 3;
                }
                Some('\'') => {
                    out.push(IndTok::Str {
                        text: "''".into(),
                        indent: false,
                    });
                    i += 3;
                }
                Some('\\') => {
                    let text = match b.get(i + 3).copied() {
                        Some('n') => "\n".to_string(),
                        Some('r') => "\r".to_string(),
                        Some('t') => "\t".to_string(),
                        Some(other) => other.to_string(),
                        None => String::new(),
                    };
                    out.push(IndTok::Str {
                        text,
                        indent: false,
                    });
                    i += 4;
                }
                _ => {
                    // Cannot happen inside a well-formed string; keep the text.
                    out.push(IndTok::Str {
                        text: "''".into(),
                        indent: false,
                    });
                    i += 2;
                }
            }
        } else if c == '$' {
            match next {
                Some(n) if n != '{' && n != '\'' => {
                    run.push(c);
                    run.push(n);
                    i += 2;
                }
                _ => {
                    flush(&mut run, out);
                    out.push(IndTok::Str {
                        text: "$".into(),
                        indent: false,
                    });
                    i += 1;
                }
            }
        } else if c == '\'' {
            match next {
                Some(n) if n != '\'' && n != '$' => {
                    run.push(c);
                    run.push(n);
                    i += 2;
                }
                _ => {
                    flush(&mut run, out);
                    out.push(IndTok::Str {
                        text: "'".into(),
                        indent: false,
                    });
                    i += 1;
                }
            }
        } else {
            run.push(c);
            i += 1;
        }
    }
    flush(&mut run, out);
}

/// `stripIndentation` of Nix's parser.
fn indented(raw: Vec<InterpolPart<String>>) -> Vec<Piece> {
    let mut toks = Vec::new();
    for (idx, part) in raw.into_iter().enumerate() {
        match part {
            InterpolPart::Literal(mut text) => {
                if idx == 0 {
                    // The opening `''` swallows a first line of only spaces.
                    let spaces = text.bytes().take_while(|&b| b == b' ').count();
                    if text.as_bytes().get(spaces) == Some(&b'\n') {
                        text.drain(..=spaces);
                    }
                }
                lex_indented(&text, &mut toks);
            }
            InterpolPart::Interpolation(i) => toks.push(IndTok::Interp(i)),
        }
    }

    let mut at_start = true;
    let mut min_indent = usize::MAX;
    let mut cur_indent = 0usize;
    for t in &toks {
        match t {
            IndTok::Str { text, indent: true } => {
                for c in text.chars() {
                    if at_start {
                        if c == ' ' {
                            cur_indent += 1;
                        } else if c == '\n' {
                            cur_indent = 0;
                        } else {
                            at_start = false;
                            min_indent = min_indent.min(cur_indent);
                        }
                    } else if c == '\n' {
                        at_start = true;
                        cur_indent = 0;
                    }
                }
            }
            _ => {
                if at_start {
                    at_start = false;
                    min_indent = min_indent.min(cur_indent);
                }
            }
        }
    }

    let mut out = Vec::with_capacity(toks.len());
    at_start = true;
    let mut cur_dropped = 0usize;
    let n = toks.len();
    for (idx, t) in toks.into_iter().enumerate() {
        match t {
            IndTok::Interp(i) => {
                at_start = false;
                cur_dropped = 0;
                out.push(Piece::Interp(i));
            }
            IndTok::Str { text, .. } => {
                let mut s2 = String::with_capacity(text.len());
                for c in text.chars() {
                    if at_start {
                        if c == ' ' {
                            if cur_dropped >= min_indent {
                                s2.push(c);
                            }
                            cur_dropped += 1;
                        } else if c == '\n' {
                            cur_dropped = 0;
                            s2.push(c);
                        } else {
                            at_start = false;
                            cur_dropped = 0;
                            s2.push(c);
                        }
                    } else {
                        s2.push(c);
                        if c == '\n' {
                            at_start = true;
                        }
                    }
                }
                if idx + 1 == n
                    && let Some(p) = s2.rfind('\n')
                    && s2[p + 1..].bytes().all(|b| b == b' ')
                {
                    s2.truncate(p + 1);
                }
                out.push(Piece::Text(s2));
            }
        }
    }
    out
}
