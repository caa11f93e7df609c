"""Generation for `synspec run`: model loading, seeding, constrained batched decoding, resume.

Modules: `model` (finding and loading weights), `seeding` (stratified pre-draws),
`decode` (synspec's llguidance decoding loop), `outlines_backend` (the Outlines path),
`pipeline` (one run: batches, checking, retry budget), `sink` (durable output, resume),
`manifest` (OUT.manifest.json). How and why: docs/generation.md.
"""
