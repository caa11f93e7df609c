"""Generation for `synspec run`: seeding, per-row grammars, engines, checking, resume.

Modules: `pipeline` (one run, step by step: batches, checking, retry budget), `seeding`
(the `--seeding` modes and stratified pre-draws), `grammars` (row grammars per drawn
values, relaxed when they contradict the rules), `examples` (the seed_ex prompt's rows),
`checking` (generated lines -> checked cells), `engines/` (decoding engines by name:
`local`, `outlines`), `model` (finding and loading weights), `sink` (durable output,
resume), `manifest` (OUT.manifest.json, typed). How and why: docs/generation.md.
"""
