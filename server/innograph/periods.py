"""The period of an n-ary node (a membership's org:memberDuring, a recognition's ino:period, an
observation's ino:refPeriod) as a short text: ``2020 – 2025``, ``2020 –``, ``– 2025``, ``2024``.

Reads OWL-Time intervals (``time:hasBeginning`` / ``time:hasEnd`` → instants with
``time:inXSDgYear`` …), a period that is a single instant, and direct start and end dates
(``schema:startDate``, ``prov:startedAtTime`` …). Pure: ``objects(subject, predicates)`` is
given by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyoxigraph import Literal

TIME = "http://www.w3.org/2006/time#"
ORG, INO = "http://www.w3.org/ns/org#", "https://w3id.org/innograph/ontology#"
LINKS = (ORG + "memberDuring", INO + "period", INO + "refPeriod", TIME + "hasTime")
BEGIN, END = (TIME + "hasBeginning",), (TIME + "hasEnd",)
DIRECT_BEGIN = ("http://schema.org/startDate", "http://www.w3.org/ns/prov#startedAtTime")
DIRECT_END = ("http://schema.org/endDate", "http://www.w3.org/ns/prov#endedAtTime")
INSTANT_VALUES = tuple(TIME + p for p in ("inXSDgYear", "inXSDDate", "inXSDgYearMonth", "inXSDDateTimeStamp", "inXSDDateTime"))

Objects = Callable[[object, Sequence[str]], list]


def _instant(objects: Objects, term) -> str | None:
    if isinstance(term, Literal):
        return term.value
    found = objects(term, INSTANT_VALUES)
    return found[0].value if found else None


def period(objects: Objects, node) -> str | None:
    """The period of ``node``, or None when it has none."""
    begin = [_instant(objects, t) for t in objects(node, DIRECT_BEGIN)]
    end = [_instant(objects, t) for t in objects(node, DIRECT_END)]
    for interval in objects(node, LINKS):
        ends = objects(interval, BEGIN + END)
        begin += [_instant(objects, t) for t in objects(interval, BEGIN)]
        end += [_instant(objects, t) for t in objects(interval, END)]
        if not ends:  # the period is an instant, or a literal date
            begin.append(_instant(objects, interval))
            end.append(_instant(objects, interval))
    first = min((b for b in begin if b), default=None)
    last = max((e for e in end if e), default=None)
    if first and first == last:
        return first
    if first or last:
        return f"{first or ''} – {last or ''}".strip()
    return None
