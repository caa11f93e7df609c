"""Decoding engines: `decode` + `shared_prefix` (synspec's llguidance loop), `outlines`."""
