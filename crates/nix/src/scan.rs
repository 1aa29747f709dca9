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
