"""Lexical surgery on SPARQL query text, for a store that only takes text (remote.py).

pyoxigraph binds variables before evaluation (``substitutions``); a SPARQL 1.1 service over
HTTP has no such parameter. :func:`bind` gives the same answers in standard SPARQL: a one-row
``VALUES`` block at the start of the query's WHERE group, so the bound variables are joined
before anything else of the group (an OPTIONAL or a FILTER of the group sees them bound, as
with a substitution), and they are still in the results.

:func:`declare` adds the ``PREFIX`` lines of the prefixes the app offers to every query
(pyoxigraph takes them as an argument) that the query does not declare itself.

The scanner knows just enough SPARQL to find the group: strings (four quotings, escapes), IRIs
(``<...>`` without spaces: otherwise ``<`` is the operator), comments, variables and prefixed
names (so ``?where`` or ``ex:WHERE`` are not the keyword), parentheses and braces.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>\#[^\n\r]*)
  | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<var>[?$][\w\u00b7\u0300-\u036f\u203f-\u2040]+)
  | (?P<word>[A-Za-z_\u00c0-\uffff][\w.\-\u00b7\u00c0-\uffff]*(?::[\w.\-:%\\\u00b7\u00c0-\uffff]*)?|:[\w.\-:%\\\u00b7\u00c0-\uffff]*)
  | (?P<open>[{(\[])
  | (?P<close>[})\]])
  | (?P<other>.)
""", re.VERBOSE | re.DOTALL)
FORMS = ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK")
_MODIFIERS = ("GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "VALUES")


def tokens(text: str) -> Iterator[tuple[str, str, int, int]]:
    """(kind, text, start, depth before the token) of each token but spaces and comments."""
    depth = 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind in ("space", "comment"):
            continue
        if kind == "close":
            depth -= 1
        yield kind, match.group(), match.start(), depth
        if kind == "open":
            depth += 1


def _where_group(text: str) -> tuple[str | None, int | None, bool]:
    """(query form, offset of the ``{`` opening the WHERE group or None, short CONSTRUCT form?)."""
    form, braces, after_where = None, 0, False
    for kind, token, start, depth in tokens(text):
        if depth:
            continue
        upper = token.upper()
        if form is None:
            if kind == "word" and upper in FORMS:
                form = upper
            continue
        if kind == "word" and upper == "WHERE":
            after_where = True
        elif token == "{":
            braces += 1
            if after_where:
                return form, start, form == "CONSTRUCT" and braces == 1
            if form != "CONSTRUCT" or braces == 2:
                return form, start, False
    return form, None, False


def form(text: str) -> str | None:
    """SELECT, CONSTRUCT, DESCRIBE or ASK (None: not a query)."""
    for kind, token, _, depth in tokens(text):
        if kind == "word" and not depth and token.upper() in FORMS:
            return token.upper()
    return None


# Words that no query contains outside strings, IRIs and names: an update's operations, and
# Virtuoso's pragmas (``define input:grab-all`` would fetch IRIs from the web, like SERVICE).
NOT_IN_QUERIES = frozenset({"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH", "DEFINE"})


def is_query(text: str) -> bool:
    """Whether ``text`` can be nothing but a query (SELECT, CONSTRUCT, DESCRIBE, ASK): what an
    external store receives, so that no engine ever runs an update sent as a query."""
    return form(text) is not None and not any(kind == "word" and token.upper() in NOT_IN_QUERIES
                                              for kind, token, _, _ in tokens(text))


def values_block(bindings: Mapping[str, Any]) -> str:
    """``VALUES (?a ?b) { (term term) }`` for terms of pyoxigraph (``str`` is their SPARQL)."""
    names = " ".join(f"?{name}" for name in bindings)
    return f"VALUES ({names}) {{ ({' '.join(_term(t) for t in bindings.values())}) }}"


def _term(term: Any) -> str:
    from pyoxigraph import Triple

    if isinstance(term, Triple):
        return f"<< {_term(term.subject)} {_term(term.predicate)} {_term(term.object)} >>"
    return str(term)


def bind(text: str, bindings: Mapping[str, Any]) -> str:
    """``text`` with ``bindings`` (variable name -> IRI or literal) joined first in its WHERE group."""
    if not bindings:
        return text
    values = values_block(bindings)
    query_form, brace, short = _where_group(text)
    if brace is None:
        if query_form != "DESCRIBE":
            raise ValueError("no WHERE group to bind variables in")
        return _describe_where(text, values)
    end = _group_end(text, brace)
    pattern = text[brace + 1:end]
    if short:  # CONSTRUCT WHERE { triples }: only triples allowed there, so spell the template out
        head = text[:brace].rstrip()
        head = head[: len(head) - len("WHERE")] if head.upper().endswith("WHERE") else head
        return f"{head}{{{pattern}}} WHERE {{ {values}\n{_constants(pattern, bindings)}}}{text[end + 1:]}"
    return f"{text[:brace + 1]} {values}\n{_constants(pattern, bindings)}{text[end:]}"


def _constants(pattern: str, bindings: Mapping[str, Any]) -> str:
    """``pattern`` with the bound variables written as their terms where a term may stand.

    The VALUES block alone gives the answers; this is for the engine's optimizer, which may
    otherwise evaluate a UNION branch (say) for every value before the join with VALUES (Oxigraph:
    a page's labels query took 1 s instead of 5 ms). Not inside a sub-SELECT (its variables are
    its own) or a MINUS (whose shared variables decide what it removes), nor where the grammar
    wants a variable (``AS ?v``, a VALUES variable list)."""
    out, last, skip_until, previous, in_values_vars = [], 0, -1, "", False
    pending_skip = None
    for kind, token, start, depth in tokens(pattern):
        upper = token.upper()
        if skip_until >= 0:
            if kind == "close" and depth == skip_until:
                skip_until = -1
            previous = upper
            continue
        if pending_skip is not None:
            if token == "{" and pending_skip == "MINUS":
                skip_until, pending_skip = depth, None
                previous = upper
                continue
            pending_skip = None
        if previous == "{" and upper == "SELECT":
            skip_until = depth - 1  # the sub-SELECT's group closes at the depth of its brace
            previous = upper
            continue
        if upper == "MINUS":
            pending_skip = "MINUS"
        if upper == "VALUES":
            in_values_vars = True
        elif in_values_vars and token in ("{",):
            in_values_vars = False
        if kind == "var" and token[1:] in bindings and previous != "AS" and not in_values_vars:
            out.append(pattern[last:start])
            out.append(_term(bindings[token[1:]]))
            last = start + len(token)
        previous = upper
    out.append(pattern[last:])
    return "".join(out)


def _group_end(text: str, brace: int) -> int:
    for kind, token, start, depth in tokens(text[brace:]):
        if kind == "close" and depth == 0:
            return brace + start
    raise ValueError("unbalanced braces")


def _describe_where(text: str, values: str) -> str:
    """DESCRIBE ?x (no WHERE): the bindings become its WHERE group, before any solution modifier."""
    seen_form = False
    for kind, token, start, depth in tokens(text):
        if depth:
            continue
        if kind == "word" and token.upper() == "DESCRIBE":
            seen_form = True
        elif seen_form and kind == "word" and token.upper() in _MODIFIERS:
            return f"{text[:start]}WHERE {{ {values} }}\n{text[start:]}"
    return f"{text}\nWHERE {{ {values} }}"


_DECLARED = re.compile(r"\bPREFIX\s+([\w.\-\u00b7\u00c0-\uffff]*):", re.IGNORECASE)


def declare(text: str, prefixes: Mapping[str, str]) -> str:
    """``PREFIX`` lines for the ``prefixes`` that ``text`` uses without declaring them, then ``text``."""
    used = {token.split(":", 1)[0] for kind, token, _, _ in tokens(text) if kind == "word" and ":" in token}
    declared = set(_DECLARED.findall(text))
    lines = [f"PREFIX {name}: <{iri}>" for name, iri in prefixes.items() if name in used and name not in declared]
    return "\n".join([*lines, text]) if lines else text
