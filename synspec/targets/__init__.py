"""Compiler targets: each module reads only the checked `synspec.ir.Spec` and emits one thing.

`prompt` (prompt text; the prompt styles), `order` (generation order), `row_format` (the
one-line row format), `grammar/` (the row grammar for constrained decoding: ranges, the
rule automaton, the Lark renderer), `enforcement` (which rules the grammar enforces),
`checker` (vectorised rule and column checks), `reference_checker` (a plain per-row
evaluator of the same IR, the oracle the checker is tested against), `registry` (the
compile targets and prompt styles, found by name).
"""
