"""The runtime's interface (executor.QueryService) over an in-process pyoxigraph store.

For view tests that need a store they can change between requests without a fork server: the
store is real (no mock), only the process boundary is left out. ``export`` and ``terms`` do what
the executors do with the same functions (dumps.produce, Store.query on the union graph).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pyoxigraph import Quad, QueryBoolean, QueryTriples, RdfFormat, Store, Variable

from innograph import dumps, loader, void
from innograph.namespaces import PREFIXES
from innograph.store import open_for_queries

FIXTURE = Path(__file__).parent / "fixtures" / "dumps.trig"
REPO = Path(__file__).resolve().parents[1]


def fixture_store(described: bool = False) -> Store:
    """tests/fixtures/dumps.trig in a store (with graph/void if ``described``)."""
    store = Store()
    store.load(path=str(FIXTURE), format=RdfFormat.TRIG)
    if described:
        void.refresh(store)
    return store


def repo_store(root: Path) -> Store:
    """The store `innograph load` builds from this repository in ``root``, described."""
    loader.load(root, REPO)
    store = open_for_queries(root)
    void.refresh(store)
    return store


class LocalRuntime:
    def __init__(self, store: Store) -> None:
        self.store, self.generation, self.exports = store, 0, []

    def export(self, name: str, path: str) -> int:
        self.exports.append(name)
        return dumps.produce(self.store, name, path, PREFIXES)

    def terms(self, query: str, substitutions: Mapping[str, Any] | None = None, max_rows: int | None = None) -> tuple[str, Any, bool]:
        bound = {Variable(k): v for k, v in (substitutions or {}).items()}
        result = self.store.query(query, use_default_graph_as_union=True, substitutions=bound)
        if isinstance(result, QueryBoolean):
            return "boolean", bool(result), False
        if isinstance(result, QueryTriples):
            return "triples", list(result), False
        names = [v.value for v in result.variables]
        return "solutions", (names, [tuple(s[n] for n in names) for s in result]), False

    def write(self, quads: Iterable[Quad]) -> int:
        """A write as the fork server applies it: data, then graph/void, then a new generation."""
        self.store.extend(list(quads))
        void.refresh(self.store)
        self.generation += 1
        return self.generation
