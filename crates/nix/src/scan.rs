//! A pass over the token stream, before parsing, that bounds how deeply the
//! expression can nest. rnix limits `parse_expr` recursion itself, but not chains
//! of unary operators or right-associative operators, and our evaluator recurses
//! on left-associative chains: an estimate of the tree depth caught here turns
//! pathological input into an error instead of a stack overflow.
use rnix::SyntaxKind::{self, *};

/// Nesting deeper than this is refused (`nix-too-deep`).
pub(crate) const MAX_DEPTH: usize = 512;

/// Returns the byte offset of the token where the estimated depth first exceeds
/// [`MAX_DEPTH`], if it does.
pub(crate) fn too_deep(src: &str) -> Option<usize> {
    if surely_shallow(src) {
        return None;
    }
    if let Some(at) = long_operator_run(src) {
        return Some(at);
    }
    exact(src)
}

/// The offset of a run of code with more than [`MAX_DEPTH`] operators and no
/// whitespace (`a.a.a.…`, `1+1+1…`), if there is one outside strings and comments.
///
/// rnix's tokenizer looks ahead over every path character (`[A-Za-z0-9._+-/]`) at
/// the start of each token, to tell `a.b/c` (a path) from `a.b`: inside such a
/// run it is quadratic (a 100,000-part attribute path took 1.2 s in a release
/// build, minutes at ten times that). Each `.` (not inside a number) and `+` in
/// the run is an operator [`exact`] counts, all on one level, so a run with more
/// than [`MAX_DEPTH`] of them is too deep whatever follows; found here in one pass,
/// before the tokenizer. A run holding `/` is one path token, read in one pass by
/// rnix: left to [`exact`].
fn long_operator_run(src: &str) -> Option<usize> {
    let b = src.as_bytes();
    let path_char =
        |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'+' | b'-' | b'\'' | b'/');
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
            }
            // A string's text is one token, however long: skipped (an
            // interpolation's code with it, which can only make this miss a run,
            // never invent one).
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'\'' if b.get(i + 1) == Some(&b'\'') => {
                i += 2;
                while i < b.len() && !(b[i] == b'\'' && b.get(i + 1) == Some(&b'\'')) {
                    i += 1;
                }
                i += 2;
            }
            c if path_char(c) => {
                let start = i;
                let mut operators = 0usize;
                let mut slash = false;
                while i < b.len() && path_char(b[i]) {
                    match b[i] {
                        b'/' => slash = true,
                        b'+' => operators += 1,
                        // `1.5`: the dot of a number is not an operator.
                        b'.' if !(i > start && b[i - 1].is_ascii_digit()) => operators += 1,
                        _ => {}
                    }
                    i += 1;
                }
                if operators > MAX_DEPTH && !slash {
                    return Some(start);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// What a level of [`surely_shallow`] was opened by.
#[derive(Clone, Copy, PartialEq)]
enum Open {
    Paren,
    Brack,
    Brace,
    Let,
    Str,
    /// `${`; `true` when inside a string.
    Interp(bool),
}

/// A byte-level pass that proves [`exact`] finds nothing, without rnix's tokenizer
/// (which costs as much as a third of the parse). It follows the same levels as
/// [`exact`] and counts every operator byte (`==` twice, `...` thrice), so its
/// estimate is never below the exact one; it gives up (`false`) on anything whose
/// tokens it does not know for certain: paths, URIs, `''` strings, block
/// comments, `<`, `~`, non-ASCII outside strings, mismatched brackets.
fn surely_shallow(src: &str) -> bool {
    let b = src.as_bytes();
    let mut levels: Vec<(usize, Open)> = Vec::new();
    let mut top: usize = 0;
    let mut total: usize = 0;
    let mut in_string = false;
    let mut i = 0;
    while i < b.len() {
        if in_string {
            match b[i] {
                b'\\' => {
                    if i + 1 >= b.len() {
                        return false;
                    }
                    i += 2;
                }
                b'"' => {
                    // The end of the string closes its level.
                    let Some((prev, Open::Str)) = levels.pop() else {
                        return false;
                    };
                    total -= top + 1;
                    top = prev;
                    in_string = false;
                    i += 1;
                }
                b'$' => match b.get(i + 1) {
                    Some(b'$') => i += 2,
                    Some(b'{') => {
                        levels.push((top, Open::Interp(true)));
                        total += 1;
                        top = 0;
                        in_string = false;
                        i += 2;
                    }
                    _ => i += 1,
                },
                _ => i += 1,
            }
        } else {
            let c = b[i];
            match c {
                b' ' | b'\t' | b'\n' | b'\r' => i += 1,
                b'#' => {
                    while i < b.len() && b[i] != b'\n' {
                        i += 1;
                    }
                }
                b'(' | b'[' | b'{' | b'"' => {
                    let open = match c {
                        b'(' => Open::Paren,
                        b'[' => Open::Brack,
                        b'{' => Open::Brace,
                        _ => Open::Str,
                    };
                    levels.push((top, open));
                    total += 1;
                    top = 0;
                    in_string = open == Open::Str;
                    i += 1;
                }
                b'$' => {
                    if b.get(i + 1) != Some(&b'{') {
                        return false;
                    }
                    levels.push((top, Open::Interp(false)));
                    total += 1;
                    top = 0;
                    i += 2;
                }
                b')' | b']' | b'}' => {
                    let Some((prev, open)) = levels.pop() else {
                        return false;
                    };
                    match (c, open) {
                        (b')', Open::Paren) | (b']', Open::Brack) | (b'}', Open::Brace) => {}
                        (b'}', Open::Interp(back)) => in_string = back,
                        _ => return false,
                    }
                    total -= top + 1;
                    top = prev;
                    i += 1;
                }
                b';' | b',' => {
                    total -= top;
                    top = 0;
                    i += 1;
                }
                b':' => {
                    // `scheme:rest` is a URI token.
                    if !matches!(b.get(i + 1), Some(b' ' | b'\t' | b'\n' | b'\r')) {
                        return false;
                    }
                    top += 1;
                    total += 1;
                    i += 1;
                }
                b'.' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                    let Some(end) = number_end(b, i) else {
                        return false;
                    };
                    i = end;
                }
                b'=' | b'!' | b'+' | b'-' | b'*' | b'&' | b'|' | b'>' | b'@' | b'?' | b'.' => {
                    top += 1;
                    total += 1;
                    i += 1;
                }
                b'0'..=b'9' => {
                    let Some(end) = number_end(b, i) else {
                        return false;
                    };
                    i = end;
                }
                b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                    let start = i;
                    while i < b.len()
                        && matches!(b[i], b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'\'')
                    {
                        i += 1;
                    }
                    match &b[start..i] {
                        b"let" => {
                            levels.push((top, Open::Let));
                            total += 1;
                            top = 0;
                        }
                        b"in" => {
                            let Some((prev, Open::Let)) = levels.pop() else {
                                return false;
                            };
                            total -= top + 1;
                            top = prev + 1;
                            total += 1;
                        }
                        b"assert" | b"else" | b"if" | b"or" | b"then" | b"with" => {
                            top += 1;
                            total += 1;
                        }
                        _ => {}
                    }
                }
                // `/` (paths, `//`, comments), `<` (search paths), `~`, `''`,
                // and anything else.
                _ => return false,
            }
        }
        if total > MAX_DEPTH {
            return false;
        }
    }
    true
}

/// The end of the number starting at `i` (a digit, or `.` before a digit), as
/// rnix's tokenizer reads it; `None` for a malformed exponent.
fn number_end(b: &[u8], i: usize) -> Option<usize> {
    let digits = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = if b[i] == b'.' {
        i
    } else {
        // A leading `0` not followed by `.` is an integer however it goes on
        // (`01.5` is `01` then `.5`).
        if b[i] == b'0' && b.get(i + 1) != Some(&b'.') {
            return Some(digits(i + 1));
        }
        let end = digits(i + 1);
        if b.get(end) != Some(&b'.') {
            return Some(end);
        }
        end
    };
    // The fraction and an optional exponent.
    i = digits(i + 1);
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let end = digits(i);
        if end == i {
            return None;
        }
        i = end;
    }
    Some(i)
}

/// The estimate on rnix's tokens; see [`too_deep`].
fn exact(src: &str) -> Option<usize> {
    // One level per open bracket; within a level, one per operator since the last
    // `;` or `,`.
    let mut levels: Vec<usize> = Vec::new();
    let mut top: usize = 0;
    let mut total: usize = 0;
    let mut offset = 0usize;
    for (kind, text) in rnix::tokenize(src) {
        let at = offset;
        offset += text.len();
        match kind {
            TOKEN_L_PAREN | TOKEN_L_BRACK | TOKEN_L_BRACE | TOKEN_INTERPOL_START | TOKEN_LET
            | TOKEN_STRING_START => {
                levels.push(top);
                total += 1;
                top = 0;
            }
            TOKEN_R_PAREN | TOKEN_R_BRACK | TOKEN_R_BRACE | TOKEN_INTERPOL_END | TOKEN_IN
            | TOKEN_STRING_END => {
                if let Some(prev) = levels.pop() {
                    total = total.saturating_sub(top + 1);
                    top = prev;
                    if kind == TOKEN_IN {
                        top += 1;
                        total += 1;
                    }
                }
            }
            TOKEN_SEMICOLON | TOKEN_COMMA => {
                total = total.saturating_sub(top);
                top = 0;
            }
            k if is_operator(k) => {
                top += 1;
                total += 1;
            }
            _ => {}
        }
        if total > MAX_DEPTH {
            return Some(at);
        }
    }
    None
}

fn is_operator(k: SyntaxKind) -> bool {
    matches!(
        k,
        TOKEN_ADD
            | TOKEN_SUB
            | TOKEN_MUL
            | TOKEN_DIV
            | TOKEN_CONCAT
            | TOKEN_UPDATE
            | TOKEN_AND_AND
            | TOKEN_OR_OR
            | TOKEN_EQUAL
            | TOKEN_NOT_EQUAL
            | TOKEN_LESS
            | TOKEN_LESS_OR_EQ
            | TOKEN_MORE
            | TOKEN_MORE_OR_EQ
            | TOKEN_IMPLICATION
            | TOKEN_INVERT
            | TOKEN_DOT
            | TOKEN_QUESTION
            | TOKEN_COLON
            | TOKEN_WITH
            | TOKEN_ASSERT
            | TOKEN_IF
            | TOKEN_THEN
            | TOKEN_ELSE
            | TOKEN_OR
            | TOKEN_PIPE_LEFT
            | TOKEN_PIPE_RIGHT
            | TOKEN_AT
            | TOKEN_ASSIGN
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Pieces of Nix text, tricky tokens included, weighted toward nesting.
    const PIECES: &[&str] = &[
        "(", "(", "[", "[", "{", "{", ")", "]", "}", "${", "\"", "\"", "let ", " in ", "a", "b-c'",
        "-", "+", "=", "==", ";", ",", ": ", ":", ".", "...", "1.5", "0", "01.e5", ".5e3", "1e5",
        "1.e", "''", "'", "#c\n", "/", "//", "a/b", "x:y", " or ", " if ", " with ", "\\", "$$",
        "$", "<", ">", "?", "@", "!", "->", " ", "\n", "é", "rec ", "inherit ", "\"s\"",
    ];

    fn text(pieces: &[usize]) -> String {
        pieces.iter().map(|&i| PIECES[i % PIECES.len()]).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn the_fast_pass_never_hides_deep_input(pieces in prop::collection::vec(0usize..1000, 0..1600)) {
            let src = text(&pieces);
            if surely_shallow(&src) {
                prop_assert_eq!(exact(&src), None, "{:?}", src);
            }
        }

        #[test]
        fn nesting_without_bail_outs(pieces in prop::collection::vec(0usize..14, 0..1600)) {
            // Only brackets, strings, `let`/`in` and operators: the fast pass decides.
            const SIMPLE: &[&str] = &["(", "[", "{", ")", "]", "}", "${", "\"", "let ", " in ", "a", "-", "=", ";"];
            let src: String = pieces.iter().map(|&i| SIMPLE[i]).collect();
            if surely_shallow(&src) {
                prop_assert_eq!(exact(&src), None, "{:?}", src);
            }
        }
    }

    #[test]
    fn ordinary_declarations_take_the_fast_pass() {
        let src = "{ a = { b = [ \"x${y}\" 1 2.5 .5e1 ]; c = let d = 1; in d + 1; }; e.f = rec { g = -1; }; } # end";
        assert!(surely_shallow(src));
        assert_eq!(too_deep(src), None);
    }

    #[test]
    fn a_long_operator_run_is_refused_before_the_tokenizer() {
        let dotted = format!("{{ a.{} = 1; }}", vec!["b"; MAX_DEPTH + 1].join("."));
        assert_eq!(long_operator_run(&dotted), Some(2));
        assert!(exact(&dotted).is_some(), "the exact pass agrees");
        assert_eq!(too_deep(&dotted), Some(2));
        let sum = format!("x = {};", vec!["1"; MAX_DEPTH + 2].join("+"));
        assert_eq!(long_operator_run(&sum), Some(4));
        assert!(exact(&sum).is_some(), "the exact pass agrees");
        // Not runs of operators: text in strings and comments, a path, numbers.
        let many = vec!["b"; MAX_DEPTH + 1].join(".");
        for fine in [
            format!("{{ a = \"{many}\"; }}"),
            format!("{{ a = ''{many}''; }}"),
            format!("# {many}\n{{ }}"),
            format!("/* {many} */ {{ }}"),
            format!("{{ a = ./{many}; }}"),
        ] {
            assert_eq!(long_operator_run(&fine), None, "{fine:.60}");
        }
        // The dot of a number is no operator: 300 numbers summed are 299 of them.
        let sum = format!("x = {};", vec!["1.5"; 300].join("+"));
        assert_eq!(exact(&sum), None);
        assert_eq!(long_operator_run(&sum), None);
        // Shallow runs are left alone.
        let short = format!("{{ a.{} = 1; }}", vec!["b"; MAX_DEPTH - 1].join("."));
        assert_eq!(long_operator_run(&short), None);
    }

    #[test]
    fn deep_input_is_left_to_the_exact_pass() {
        let deep = "-".repeat(MAX_DEPTH + 1) + "1";
        assert!(!surely_shallow(&deep));
        assert!(too_deep(&deep).is_some());
        let brackets = "[".repeat(MAX_DEPTH + 1);
        assert_eq!(too_deep(&brackets), exact(&brackets));
        assert!(too_deep(&brackets).is_some());
    }
}
