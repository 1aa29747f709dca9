//! What a diagnostic's id stands for: a registered [`Rule`].
//!
//! A [`Diagnostic`](crate::Diagnostic) holds a `&'static Rule`, never a bare
//! string, so an id that no registry lists cannot be emitted. Each crate that
//! reports findings declares its rules once with [`rules!`](crate::rules), which
//! also makes the module's `ALL` list; the binary's registry is the union of those
//! lists (and a test there proves no `rules!` block is left out of it).
use crate::Severity;
use std::fmt;

/// One kind of finding: its stable id, severity and documentation.
#[derive(Clone, Copy)]
pub struct Rule {
    /// Stable id, e.g. `retired-recipient`: used in output, SARIF and `explain`.
    pub id: &'static str,
    /// How bad a finding of this rule is.
    pub severity: Severity,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// Why it matters and how to fix it (Markdown-ish plain text).
    pub explanation: &'static str,
    /// An error of this rule means the command could not run at all (exit 2):
    /// the declarations could not be found, read or evaluated, so there is
    /// nothing to judge. Every other error is a finding (exit 1).
    pub could_not_run: bool,
}

impl Rule {
    /// The id, for output.
    pub fn as_str(&self) -> &'static str {
        self.id
    }
}

// A rule is its id: compared, ordered, hashed and shown by it (the documentation
// is the same wherever the constant is used).
impl PartialEq for Rule {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Rule {}

impl PartialOrd for Rule {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Rule {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.id.cmp(other.id)
    }
}

impl std::hash::Hash for Rule {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl PartialEq<str> for Rule {
    fn eq(&self, other: &str) -> bool {
        self.id == other
    }
}

impl PartialEq<&str> for Rule {
    fn eq(&self, other: &&str) -> bool {
        self.id == *other
    }
}

impl PartialEq<Rule> for str {
    fn eq(&self, other: &Rule) -> bool {
        self == other.id
    }
}

impl PartialEq<Rule> for &str {
    fn eq(&self, other: &Rule) -> bool {
        *self == other.id
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id)
    }
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The id only: a diagnostic's debug output stays readable.
        fmt::Debug::fmt(self.id, f)
    }
}

/// Declares a module's rules: one `pub const` [`Rule`] per entry and `ALL`,
/// every rule of the block in documentation order.
///
/// ```
/// mod rules {
///     avalanche_diag::rules! {
///         DEMO_RULE = "demo-rule", Warning,
///             "One line: what it finds.",
///             "Why it matters.\n\nFix: how.";
///         DEMO_UNREADABLE = "demo-unreadable", Error + could_not_run,
///             "The input could not be read.",
///             "Nothing else can be judged without it.";
///     }
/// }
/// assert_eq!(rules::ALL.len(), 2);
/// assert!(rules::DEMO_UNREADABLE.could_not_run && !rules::DEMO_RULE.could_not_run);
/// ```
#[macro_export]
macro_rules! rules {
    ($($name:ident = $id:literal, $sev:ident $(+ $flag:ident)?, $summary:literal, $explanation:expr;)*) => {
        $(
            #[doc = $summary]
            pub const $name: $crate::Rule = $crate::Rule {
                id: $id,
                severity: $crate::Severity::$sev,
                summary: $summary,
                explanation: $explanation,
                could_not_run: $crate::__rule_flag!($($flag)?),
            };
        )*
        /// Every rule of this module, in documentation order.
        pub const ALL: &[$crate::Rule] = &[$($name),*];
    };
}

/// `could_not_run` from the one flag [`rules!`] accepts (any other is a compile error).
#[doc(hidden)]
#[macro_export]
macro_rules! __rule_flag {
    () => {
        false
    };
    (could_not_run) => {
        true
    };
}
