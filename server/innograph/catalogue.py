"""The researcher query catalogue: ``queries/*.rq`` read into a list of examples.

Each file starts with a block of header comments that state the question in French and in
English, then its explicit ``PREFIX`` lines and the query::

    # title@fr: Quels pôles ont le plus de membres ?
    # title@en: Which poles have the most members?
    # description@fr: Les pôles classés par nombre de membres,
    #   une ligne peut se poursuivre sur la suivante.
    # description@en: Poles ranked by their number of members.
    # seeds: 001, 003
    PREFIX ino: <https://w3id.org/innograph/ontology#>
    SELECT ...

A field is ``# key: value`` or ``# key@lang: value``; a comment line that is not a field
continues the field above it, and a bare ``#`` ends it. The header ends at the first line that
is neither a comment nor blank. Unknown keys are kept in ``Example.fields`` so that new header
conventions need no change here. Pure: no Flask, and the only IO is reading the directory given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

LANGUAGES = ("fr", "en")

_FIELD = re.compile(r"^#\s*(?P<key>[A-Za-z][\w-]*)(?:@(?P<lang>[A-Za-z]{2,3}(?:-[A-Za-z0-9]+)*))?\s*:\s*(?P<value>.*)$")


@dataclass(frozen=True)
class Example:
    """One catalogue query: ``id`` is the file name without ``.rq``; ``query`` the whole file."""

    id: str
    title: dict[str, str]
    description: dict[str, str]
    seeds: tuple[str, ...]
    query: str
    fields: dict[str, str] = field(default_factory=dict)

    def title_in(self, lang: str) -> str:
        """The title in ``lang``, else in the other language, else the id."""
        return _in(self.title, lang) or self.id

    def description_in(self, lang: str) -> str:
        """The description in ``lang``, else in the other language, else ''."""
        return _in(self.description, lang)

    def as_json(self, lang: str) -> dict[str, object]:
        """The view the query UI needs, with texts in ``lang`` (falling back as above)."""
        return {
            "id": self.id,
            "title": self.title_in(lang),
            "description": self.description_in(lang),
            "seeds": list(self.seeds),
            "query": self.query,
        }


def _in(texts: dict[str, str], lang: str) -> str:
    for candidate in (lang, *LANGUAGES, *texts):
        if texts.get(candidate):
            return texts[candidate]
    return ""


def parse_header(text: str) -> dict[str, str]:
    """Header fields of a query file, keyed ``key`` or ``key@lang`` (lowercased keys)."""
    fields: dict[str, str] = {}
    current: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            current = None
            continue
        if not line.startswith("#"):
            break
        match = _FIELD.match(line)
        if match:
            key = match["key"].lower() + (f"@{match['lang'].lower()}" if match["lang"] else "")
            fields[key] = match["value"].strip()
            current = key
        elif current is not None and line.lstrip("#").strip():
            fields[current] = f"{fields[current]} {line.lstrip('#').strip()}".strip()
        else:
            current = None
    return fields


def parse_example(example_id: str, text: str) -> Example:
    """One catalogue entry from the text of a ``.rq`` file."""
    fields = parse_header(text)
    title = {lang: fields.pop(f"title@{lang}") for lang in LANGUAGES if f"title@{lang}" in fields}
    description = {lang: fields.pop(f"description@{lang}") for lang in LANGUAGES if f"description@{lang}" in fields}
    seeds = tuple(s for s in re.split(r"[\s,;]+", fields.pop("seeds", "")) if s)
    return Example(id=example_id, title=title, description=description, seeds=seeds, query=text, fields=fields)


def load_catalogue(directory: str | Path) -> list[Example]:
    """Every ``*.rq`` directly in ``directory``, sorted by file name; [] if it does not exist."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return [parse_example(path.stem, path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.rq"))]
