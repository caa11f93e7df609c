"""The public Python API, re-exported by `synspec` (see docs/api.md).

One module per area: `spec` (`Spec`: load, inspect, compile and the methods below),
`errors` (`SpecError`, `Diagnostic`), `validation` (`ValidationReport`), `generation`
(rows as DataFrames, or a file as `synspec run` writes it), `evaluation` (`evaluate`,
`EvaluationResult`), `inference` (`infer`), `formatting` (`format_spec`), `frames` (DataFrames
to cell texts and back) and `compiling` (the compiler's artifacts). The command line calls
these; the library below (`generate`, `evaluate`, `validate`, ...) never imports them.
"""
