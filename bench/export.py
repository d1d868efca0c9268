"""Export benchmark: every /dumps/ file of a 1M-triple graph, against pyoxigraph's own Store.dump.

    .venv/bin/python bench/export.py                       # the synthetic graph of bench/generate.py
    .venv/bin/python bench/export.py --source overlap      # 50 graphs stating 2 % of their triples twice
    .venv/bin/python bench/export.py --source FILE.nq --triples 10m --only innograph.nq.gz innograph.ttl

For each dump (dumps.write_dump, what the server and `innograph export` run) the baseline is what
pyoxigraph does alone: ``Store.dump`` of the dataset for TriG, N-Quads and JSON-LD, into the same
``GzipFile`` for .gz; for Turtle and N-Triples, which Store.dump only writes graph by graph,
``Store.dump(from_graph=g)`` for every graph one after the other (it repeats a triple stated in two
graphs, which ours does not), and the CONSTRUCT of the union default graph (each triple once, but
its set of all triples grows with the data). Speed ratio = baseline time / our time (best of
``--repeat``, in CPU seconds of the process: on a shared machine wall time measures the neighbours);
peak memory = the process's peak RSS during the export minus its RSS before (Linux
``/proc/self/clear_refs``). The network exports and the VoID description are timed too.
Prints a Markdown table and writes bench/out/export-<source>-<N>.json.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "server"))
from innograph import dumps, inference, netexport, void  # noqa: E402
from innograph.namespaces import PREFIXES  # noqa: E402

sys.path.insert(0, str(HERE))
import generate  # noqa: E402  (bench/generate.py)

BASE = "https://w3id.org/innograph/"


def write_overlap(triples: int, out: Path, seed: int = 42, graphs: int = 50, overlap: float = 0.02) -> None:
    """A seeded graph spread over ``graphs`` source graphs, ``overlap`` of its triples stated in two."""
    rnd = random.Random(seed)
    pred = [f"<{BASE}ontology#p{i}>" for i in range(40)]
    names = [f"<{BASE}graph/source/s{i:03d}>" for i in range(graphs)]
    with open(out, "w", encoding="utf-8") as f:
        for i in range(triples):
            s, g = f"<{BASE}id/thing/e{i // 8}>", names[(i // 8) % graphs]
            kind = i % 8
            if kind == 0:
                o = f"<{BASE}ontology#C{rnd.randrange(20)}>"
                p = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
            elif kind < 3:
                o, p = f'"thing {i // 8}"@{"fr" if kind == 1 else "en"}', "<http://www.w3.org/2000/01/rdf-schema#label>"
            else:
                o, p = f"<{BASE}id/thing/e{rnd.randrange(triples // 8)}>", pred[rnd.randrange(40)]
            f.write(f"{s} {p} {o} {g} .\n")
            if rnd.random() < overlap:
                f.write(f"{s} {p} {o} {names[rnd.randrange(graphs)]} .\n")


def source_file(source: str, triples: int, seed: int) -> Path:
    if source not in ("synthetic", "overlap"):
        return Path(source)
    path = HERE / "data" / f"{source}-{triples}.nq"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"writing {path} ...", file=sys.stderr)
        (generate.write if source == "synthetic" else write_overlap)(triples, path, seed)
    return path


def _status(key: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    return 0.0


def measure(run: Callable[[], object], repeat: int) -> dict[str, float]:
    """Best wall and CPU seconds, and the largest peak RSS growth (MiB), over ``repeat`` runs.

    CPU time (user + system of this process) is what the ratios use: on a shared machine the
    wall time mostly measures the other processes.
    """
    best = {"seconds": float("inf"), "cpu_seconds": float("inf"), "peak_mib": 0.0}
    for _ in range(repeat):
        gc.collect()
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # reset VmHWM to the current RSS
        before = _status("VmRSS")
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        best["seconds"] = min(best["seconds"], time.perf_counter() - wall)
        best["cpu_seconds"] = min(best["cpu_seconds"], time.process_time() - cpu)
        best["peak_mib"] = max(best["peak_mib"], _status("VmHWM") - before)
    return best


def baselines(store: ox.Store, dump: dumps.Dump, target: Path) -> dict[str, Callable[[], object]]:
    """pyoxigraph on its own, for the same file."""
    fmt, prefixes = dump.format, (PREFIXES if dump.format in (ox.RdfFormat.TRIG, ox.RdfFormat.TURTLE) else None)

    def opened():
        return gzip.GzipFile(target, "wb", dumps.GZIP_LEVEL, mtime=0) if dump.gzip else open(target, "wb")

    def whole() -> None:
        with opened() as out:
            store.dump(out, fmt, prefixes=prefixes)

    def per_graph() -> None:
        with opened() as out:
            for graph in store.named_graphs():
                store.dump(out, fmt, from_graph=graph, prefixes=prefixes)

    def construct() -> None:
        with opened() as out:
            store.query("CONSTRUCT WHERE { ?s ?p ?o }", use_default_graph_as_union=True).serialize(out, fmt)

    return {"per-graph Store.dump": per_graph, "CONSTRUCT": construct} if dump.union else {"Store.dump": whole}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", default="synthetic", help="synthetic (bench/generate.py), overlap, or an RDF file")
    parser.add_argument("--triples", type=generate.parse_size, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="file names to run (default: every dump, network export, and the VoID)")
    parser.add_argument("--no-baselines", action="store_true", help="time innograph's files only (at 10M the CONSTRUCT baseline alone needs GBs)")
    parser.add_argument("--plain", action="store_true", help="the file alone: no ontology, graph/inferred, graph/void (default: as a server's store)")
    args = parser.parse_args(argv)
    path = source_file(args.source, args.triples, args.seed)
    store = ox.Store()
    started = time.perf_counter()
    store.bulk_load(path=str(path), format=ox.RdfFormat.from_extension(path.suffix.lstrip(".")) or ox.RdfFormat.N_QUADS)
    if not args.plain:  # what a server's store holds besides the data: the ontology and its entailments
        for ttl in sorted((HERE.parent / "ontology").glob("*.ttl")):
            store.load(path=str(ttl), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(BASE + "graph/ontology"))
        inference.rebuild(store)
        void.refresh(store)  # graph/void, as `innograph load` leaves it
    print(f"{len(store)} quads in {sum(1 for _ in store.named_graphs())} graphs loaded from {path} in {time.perf_counter() - started:.1f} s, "
          f"RSS {_status('VmRSS'):.0f} MiB", file=sys.stderr)
    out_dir = HERE / "out"
    out_dir.mkdir(exist_ok=True)
    target = out_dir / "export.tmp"
    rows = []
    names = args.only or [*dumps.DUMPS, *netexport.FILES, "void"]
    for name in names:
        if name == "void":
            rows.append({"file": "graph/void (void.refresh)", **measure(lambda: void.refresh(store), args.repeat)})
        elif name in netexport.FILES:
            row = measure(lambda: dumps.produce(store, name, target), args.repeat)
            rows.append({"file": name, **row, "mib": target.stat().st_size / 2**20})
        else:
            dump = dumps.DUMPS[name]
            row = {"file": name, **measure(lambda: dumps.produce(store, name, target, PREFIXES), args.repeat)}
            row.update(mib=target.stat().st_size / 2**20, baselines={})
            for label, run in ({} if args.no_baselines else baselines(store, dump, target)).items():
                base = measure(run, args.repeat)
                row["baselines"][label] = {**base, "ratio": base["cpu_seconds"] / row["cpu_seconds"]}
            rows.append(row)
        print(json.dumps(rows[-1]), file=sys.stderr)
    target.unlink(missing_ok=True)
    report = {"source": str(path), "plain": args.plain, "quads": len(store), "repeat": args.repeat, "pyoxigraph": ox.__version__, "rows": rows}
    (out_dir / f"export-{Path(args.source).stem}-{args.triples}.json").write_text(json.dumps(report, indent=1))
    print("| file | innograph CPU s (wall) | peak MiB | size MiB | baseline | baseline CPU s (wall) | baseline peak MiB | speed ratio |\n"
          "|---|---:|---:|---:|---|---:|---:|---:|")
    for row in rows:
        first = f"| `{row['file']}` | {row['cpu_seconds']:.2f} ({row['seconds']:.1f}) | {row['peak_mib']:.0f} | {row.get('mib', 0):.1f} |"
        bases = row.get("baselines") or {"": None}
        for label, base in bases.items():
            tail = (f" {label} | {base['cpu_seconds']:.2f} ({base['seconds']:.1f}) | {base['peak_mib']:.0f} | {base['ratio']:.2f}× |"
                    if base else " | | | |")
            print(first + tail)
            first = "| | | | |"
    return 0


if __name__ == "__main__":
    sys.exit(main())
