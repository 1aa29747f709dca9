//! The ids of what can go wrong reading the declarations: finding the file,
//! parsing it, evaluating it (statically or with real Nix). An error of any of
//! them means the command could not run (exit 2): there is no value to judge.
//!
//! `avalanche-net explain ID` prints these entries.

avalanche_diag::rules! {
    NETWORK_MISSING = "network-missing", Error + could_not_run,
        "The declarations file does not exist, or is not a regular file.",
        "Every command reads the declarations from `nix/network.nix` at the repository root (the git root of the\n\
         current directory, or `--repo DIR`), or from `--network FILE` (relative to the current directory).\n\n\
         Fix: declare the network there (`avalanche.network = { … };`), or point `--repo`/`--network` at it.";
    NIX_READ = "nix-read", Error + could_not_run,
        "A file of the declarations (or one it imports) could not be read.",
        "The declarations file and its imports are read as UTF-8 text, regular files only, up to a size limit the\n\
         message states.\n\n\
         Fix: correct the file or its permissions, as the message says.";
    NIX_SYNTAX = "nix-syntax", Error + could_not_run,
        "The declarations are not valid Nix.",
        "The file does not parse: Nix itself would refuse it. The finding points at the first token that does not fit.\n\n\
         Fix: correct the declarations at the reported line.";
    NIX_UNSUPPORTED = "nix-unsupported", Error + could_not_run,
        "The declarations use a construct outside the static reader's subset.",
        "The static reader evaluates the pure subset of Nix that declarations need (attrsets, `let`, `rec`, strings,\n\
         relative `import`, …) exactly as Nix does, and says so instead of guessing for anything else (`with`,\n\
         function calls of the `builtins`, …).\n\n\
         Fix: write the declarations in the subset, or run with `--eval nix` (or `--eval auto`, the default when `nix`\n\
         is installed) to evaluate them with real Nix.";
    NIX_TOO_DEEP = "nix-too-deep", Error + could_not_run,
        "The declarations are nested too deeply to read.",
        "Nesting is bounded before parsing, so a pathological file is an error instead of a stack overflow.\n\n\
         Fix: flatten the declarations (no real network needs this depth).";
    NIX_TOO_LARGE = "nix-too-large", Error + could_not_run,
        "Evaluating the declarations produced too many values or too much text.",
        "The static evaluator stops at 1,000,000 values or 64 MiB of strings, naming the attribute being evaluated.\n\n\
         Fix: look for a runaway recursion or an accidental repetition at the reported attribute.";
    NIX_NUL_BYTE = "nix-nul-byte", Error + could_not_run,
        "A file of the declarations contains a NUL byte.",
        "Nix silently cuts text at a NUL byte; the static reader refuses it rather than read something else than Nix.\n\n\
         Fix: remove the byte (the file is probably not the one meant).";
    NIX_DUPLICATE_ATTR = "nix-duplicate-attr", Error + could_not_run,
        "An attribute of the declarations is defined twice.",
        "Nix refuses an attribute set that defines the same name twice (outside mergeable attribute paths).\n\n\
         Fix: keep one definition; the finding points at both.";
    NIX_UNDEFINED_VARIABLE = "nix-undefined-variable", Error + could_not_run,
        "The declarations use a variable that is not defined.",
        "Fix: define it (a `let` binding or a function argument), or correct its spelling.";
    NIX_MISSING_ATTR = "nix-missing-attr", Error + could_not_run,
        "The declarations select an attribute that does not exist.",
        "Fix: correct the attribute path, or add an `or` default.";
    NIX_TYPE_ERROR = "nix-type-error", Error + could_not_run,
        "An operation in the declarations is applied to a value of the wrong type.",
        "Nix would stop with the same type error (e.g. `+` on a string and an integer).\n\n\
         Fix: correct the expression at the reported line.";
    NIX_INFINITE_RECURSION = "nix-infinite-recursion", Error + could_not_run,
        "A value of the declarations depends on itself.",
        "Fix: break the cycle between the `rec`/`let` bindings the finding points at.";
    NIX_DIVISION_BY_ZERO = "nix-division-by-zero", Error + could_not_run,
        "The declarations divide by zero.",
        "Fix: correct the expression at the reported line.";
    NIX_OVERFLOW = "nix-overflow", Error + could_not_run,
        "An integer operation in the declarations overflows.",
        "Nix integers are 64-bit; Nix reports the same overflow.\n\n\
         Fix: correct the expression at the reported line.";
    NIX_IMPORT = "nix-import", Error + could_not_run,
        "A file imported by the declarations could not be read.",
        "`import ./file.nix` is followed relative to the importing file.\n\n\
         Fix: correct the path, or create the file.";
    NIX_IMPORT_CYCLE = "nix-import-cycle", Error + could_not_run,
        "The declarations import a file that (indirectly) imports itself.",
        "Fix: break the import cycle the finding lists.";
    NIX_MISSING = "nix-missing", Error + could_not_run,
        "Real Nix is needed but not installed.",
        "`--eval nix` (and `--eval auto` for a file outside the static subset) runs `nix-instantiate` or `nix eval`.\n\n\
         Fix: install Nix, or use `--eval static` with declarations in the static subset.";
    NIX_EVAL_FAILED = "nix-eval-failed", Error + could_not_run,
        "Real Nix failed to evaluate the declarations.",
        "The finding repeats what Nix printed.\n\n\
         Fix: correct the error Nix reports, or try `--eval static` for a located diagnostic.";
    NIX_INTERNAL = "nix-internal", Error + could_not_run,
        "The static reader reached a state it cannot be in.",
        "This is a bug of avalanche-net, not of the declarations.\n\n\
         Fix: please report it with the declarations file; `--eval nix` may work meanwhile.";
}
