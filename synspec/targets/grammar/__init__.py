"""The row grammar: which rows a model may write, as a grammar for constrained decoding.

- `ranges`: scaled integer bounds, declared values and digit-range regexes;
- `automaton`: column classes, the rule analyser (Kleene evaluation over classes), groups of
  rule-linked columns, their valid combinations, and the row automaton built from them;
- `layout`: the rules' order and numbering, shared by every dialect;
- `render_lark`: the automaton printed as Lark text (`row_grammar`, `RowGrammar`);
- `render_gbnf`: the same rules as GBNF (llama.cpp), `RowGrammar.text("gbnf")`.
The generation order lives in `synspec.targets.order` (the row format needs it too).
Every name other modules import is re-exported here.
"""

from synspec.targets.grammar.automaton import (
    MAX_COMBINATIONS,
    MISSING_CLASS,
    RowAutomaton,
    RuleAnalyzer,
    State,
    Symbol,
    Unsupported,
    Within,
    analyse_rules,
    class_of,
    column_classes,
    row_automaton,
    rule_components,
    unsatisfiable_rules,
    valid_combinations,
)
from synspec.targets.grammar.ranges import (
    UNBOUNDED,
    decimal_places,
    fixed_range,
    natural_range,
    number_text,
    scale_value,
    scaled_bounds,
    scaled_range_regex,
    scaled_values,
)
from synspec.targets.grammar.render_gbnf import gbnf_literal, regex_to_gbnf, render_gbnf
from synspec.targets.grammar.render_lark import (
    DIALECTS,
    RowGrammar,
    class_terminal,
    lark_literal,
    render_lark,
    row_grammar,
    rows_grammar,
)
from synspec.targets.order import generation_order, mentioned_columns

# The names these had before the split (kept so code written against them still runs).
_Analyzer = RuleAnalyzer
_analyse = analyse_rules
_classes = column_classes
_components = rule_components
_valid_combinations = valid_combinations

__all__ = [
    "DIALECTS", "MAX_COMBINATIONS", "MISSING_CLASS", "UNBOUNDED", "RowAutomaton", "RowGrammar",
    "RuleAnalyzer", "State", "Symbol", "Unsupported", "Within", "analyse_rules", "class_of",
    "class_terminal", "column_classes", "decimal_places", "fixed_range", "gbnf_literal",
    "generation_order", "lark_literal", "mentioned_columns", "natural_range", "number_text",
    "regex_to_gbnf", "render_gbnf", "render_lark", "row_automaton", "row_grammar", "rows_grammar",
    "rule_components", "scale_value", "scaled_bounds", "scaled_range_regex", "scaled_values",
    "unsatisfiable_rules", "valid_combinations",
]
