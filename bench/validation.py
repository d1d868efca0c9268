"""Validation latency of contributions against large graphs, next to a full-graph pySHACL run.

For each graph size (synthetic data from bench/generate.py plus this repository's ontology,
shapes and data, loaded with ``innograph load`` as the server's store is), the runtime the server
runs is started (executor.QueryService: the fork server and its executors) and contributions of
about 10, 100 and 1,000 triples are validated as POST /validate and POST /contributions validate
them: ``rdfinput.parse_payload`` then ``validation.validate_contribution`` over the same
``QuerySource`` (one SPARQL query per walk step, through the executors). Nothing is written.

Contributions are realistic and touch existing data: new companies with their memberships of
existing networks, existing organisations joining other networks, projects carried by a new and an
existing organisation, their fundings by an existing funder. Each run uses new IRIs.

Reported per size: p50 / p95 / max of the whole validation, and of its two parts (the neighbourhood
walk: SPARQL queries and term conversion; pySHACL on the small graph), the CPU time spent
by this process, and by it and the executors together (figures that a busy machine inflates much
less than elapsed time: on an idle machine the elapsed time is about the latter plus a few ms of
round trips), the
neighbourhood's triples and focus nodes, and the verdicts. Then the full-graph pySHACL time on the same data (the union of
the data graphs as one rdflib graph, as ``innograph validate`` does), in a child process under a
time limit ("did not finish in N s"), skipped above --full-max triples (rdflib holds ~1.5 KB per
triple: 10M triples do not fit beside the store).

    python bench/validation.py --triples 1m              # bench/out/validation-1000000.json
    python bench/validation.py --triples 1m 10m --runs 30 --full-timeout 900

Data and stores go to bench/data/ (generated once, reused), results to bench/out/ (both ignored).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
BIN = Path(sys.executable).parent
ID = "https://w3id.org/innograph/id/"
GRAPH = "https://w3id.org/innograph/graph/"
SIZES = (10, 100, 1000)
SECTORS = ("health", "biotechnology", "ict", "energy", "plastics", "agri-food", "robotics", "logistics")


def _generate_module() -> Any:
    spec = importlib.util.spec_from_file_location("bench_generate", BENCH / "generate.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


# -- data and store ----------------------------------------------------------------------------


def ensure_store(triples: int, log: Any = print) -> Path:
    """bench/data/store-validation-N: this repository + synthetic-N.nq, as `innograph load` builds
    them (generated and loaded once; reused while newer than the data file and the shapes)."""
    data = BENCH / "data" / f"synthetic-{triples}.nq"
    if not data.exists():
        log(f"generating {data} ...")
        started = time.perf_counter()
        _generate_module().write(triples, data)
        log(f"  {time.perf_counter() - started:.0f} s")
    store = BENCH / "data" / f"store-validation-{triples}"
    current = store / "CURRENT.json"
    newest_input = max(p.stat().st_mtime for p in [data, *REPO.glob("shapes/*.ttl"), *REPO.glob("ontology/*.ttl")])
    if current.exists() and current.stat().st_mtime > newest_input:
        files = json.loads(current.read_text("utf-8")).get("files", [])
        if any(Path(f["file"]).resolve() == data.resolve() for f in files):  # both loads completed
            return store
    started = time.perf_counter()
    for args in ([], [str(data)]):  # the repository, then the synthetic graph added to it
        log(f"innograph load --store {store} {' '.join(args)} ...")
        subprocess.run([str(BIN / "innograph"), "load", "--store", str(store), *args], check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "INNOGRAPH_REPO_DIR": str(REPO)})
    log(f"  {time.perf_counter() - started:.0f} s")
    return store


# -- contributions -----------------------------------------------------------------------------


class Contributions:
    """Turtle payloads of about N triples over the existing things of the store."""

    def __init__(self, existing: dict[str, list[str]], seed: int = 1):
        self.existing = existing
        self.rnd = random.Random(seed)
        self.serial = 0

    def pick(self, kind: str) -> str:
        return f"<{self.rnd.choice(self.existing[kind])}>"

    def _new(self, kind: str) -> str:
        self.serial += 1
        return f"<{ID}{kind}/bench-{os.getpid()}-{self.serial}>"

    def _membership(self, member: str, network: str) -> list[str]:
        m = self._new("membership")
        year = self.rnd.randrange(2000, 2025)
        return [f"{m} a ino:Membership", f'{m} rdfs:label "adhésion {self.serial}"@fr', f'{m} rdfs:label "membership {self.serial}"@en',
                f"{m} org:member {member}", f"{m} org:organization {network}", f"{m} org:role <{ID}role/member>",
                f"{m} org:memberDuring <{ID}period/{year}-{year + 5}>", f"{m} dcterms:source {self.pick('document')}",
                f'{m} ino:quote "membre depuis {year}"@fr']

    def new_company(self) -> list[str]:
        """A new company and its membership of an existing network (15 triples)."""
        org = self._new("organisation")
        return [f"{org} a ino:Company", f'{org} rdfs:label "Entreprise {self.serial}"@fr', f'{org} rdfs:label "Company {self.serial}"@en',
                f"{org} ino:sizeClass <{ID}size-class/sme>", f"{org} ino:sector <{ID}sector/{self.rnd.choice(SECTORS)}>",
                f"{org} ino:activeIn {self.pick('place')}"] + self._membership(org, self.pick("network"))

    def project(self, carrier: str | None = None) -> list[str]:
        """A project carried by ``carrier`` (or an existing organisation) and an existing
        organisation, and its funding by an existing funder (14 triples)."""
        p, f = self._new("project"), self._new("funding")
        return [f"{p} a ino:ResearchProject", f'{p} rdfs:label "Projet {self.serial}"@fr', f'{p} rdfs:label "Project {self.serial}"@en',
                f"{p} ino:carriedBy {carrier or self.pick('organisation')}", f"{p} ino:carriedBy {self.pick('organisation')}",
                f"{f} a ino:Funding", f'{f} rdfs:label "Financement {self.serial}"@fr', f'{f} rdfs:label "Funding {self.serial}"@en',
                f"{f} ino:fundedItem {p}", f"{f} ino:funder <{ID}organisation/walloon-region>",
                f'{f} ino:amount "{self.rnd.randrange(50, 5000) * 1000}"^^xsd:decimal', f'{f} ino:currency "EUR"',
                f"{f} dcterms:source {self.pick('document')}", f'{f} ino:quote "financé par la Région"@fr']

    def join(self) -> list[str]:
        """An existing organisation joins an existing network (9 triples)."""
        return self._membership(self.pick("organisation"), self.pick("network"))

    def payload(self, size: int) -> tuple[bytes, int]:
        """Turtle with ``size`` triples: whole units (company, project, join) while they fit, then
        web pages (foaf:page) of existing organisations to make up the count."""
        lines: list[str] = []
        last_company = None
        while True:
            room = size - len(lines)
            if room >= 15 and (len(lines) // 15) % 2 == 0:
                unit = self.new_company()
                last_company = unit[0].split()[0]
            elif room >= 14:
                unit = self.project(last_company)
            elif room >= 9:
                unit = self.join()
            else:
                break
            lines += unit
        while len(lines) < size:
            self.serial += 1
            lines.append(f"{self.pick('organisation')} foaf:page <https://example.org/pages/{os.getpid()}-{self.serial}>")
        text = PREFIXES + "".join(line + " .\n" for line in lines)
        return text.encode(), len(lines)


PREFIXES = """@prefix ino: <https://w3id.org/innograph/ontology#> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""

EXISTING = {
    "network": "SELECT ?x { GRAPH ?g { ?x a ?c } VALUES ?c { ino:CompetitivenessPole ino:Cluster ino:InnovationHub } }",
    "organisation": "SELECT ?x { GRAPH ?g { ?x a ?c } VALUES ?c { ino:Company ino:University ino:ApprovedResearchCentre ino:HauteEcole } }",
    "place": "SELECT ?x { GRAPH ?g { ?x a ?c } VALUES ?c { ino:City ino:Region } }",
    "document": "SELECT ?x { GRAPH <https://w3id.org/innograph/graph/meta> { ?x a ino:SourceDocument } }",
}


def existing_things(service: Any, per_kind: int = 5000) -> dict[str, list[str]]:
    """Up to ``per_kind`` IRIs of each kind, spread over the whole graph."""
    out = {}
    for kind, query in EXISTING.items():
        _, (_, rows), _ = service.terms(query, max_rows=10**8)
        iris = sorted(row[0].value for row in rows if row[0].value.startswith(ID))
        step = max(1, len(iris) // per_kind)
        out[kind] = iris[::step]
        if not out[kind]:
            raise SystemExit(f"no {kind} in the store: is it built from this repository and the synthetic data?")
    return out


# -- the measurements --------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def stats_ms(values: list[float]) -> dict[str, float]:
    return {"p50": round(percentile(values, 0.5) * 1000, 1), "p95": round(percentile(values, 0.95) * 1000, 1),
            "max": round(max(values) * 1000, 1), "mean": round(statistics.fmean(values) * 1000, 1)}


class Timed:
    """Wraps validation's neighbourhood() and validate() (looked up at call time) to time the two
    parts of validate_contribution without changing it."""

    def __init__(self) -> None:
        from innograph import validation

        self.module, self.parts = validation, {"neighbourhood": 0.0, "pyshacl": 0.0, "pyshacl_cpu": 0.0}
        self.originals = (validation.neighbourhood, validation.validate)
        self.near: Any = None

    def __enter__(self) -> Timed:
        neighbourhood, validate = self.originals

        def timed_neighbourhood(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            self.near = neighbourhood(*args, **kwargs)
            self.parts["neighbourhood"] += time.perf_counter() - started
            return self.near

        def timed_validate(*args: Any, **kwargs: Any) -> Any:
            started, cpu = time.perf_counter(), time.thread_time()
            try:
                return validate(*args, **kwargs)
            finally:
                self.parts["pyshacl"] += time.perf_counter() - started
                self.parts["pyshacl_cpu"] += time.thread_time() - cpu

        self.module.neighbourhood, self.module.validate = timed_neighbourhood, timed_validate
        return self

    def __exit__(self, *exc: Any) -> None:
        self.module.neighbourhood, self.module.validate = self.originals

    def reset(self) -> None:
        self.parts = {"neighbourhood": 0.0, "pyshacl": 0.0, "pyshacl_cpu": 0.0}
        self.near = None


def executors_cpu(service: Any) -> tuple[frozenset[int], float]:
    """(executor pids, their CPU seconds so far) from /proc: the query side of a validation."""
    pids = frozenset(service.status()["executors"])
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return pids, total


def measure(store: Path, sizes: tuple[int, ...], runs: int, warmup: int, log: Any = print) -> dict[str, Any]:
    from innograph.contributions import NOT_VALIDATED
    from innograph.executor import QueryService
    from innograph.namespaces import PREFIXES as NS
    from innograph.rdfinput import format_for_media_type, parse_payload
    from innograph.sparqlsource import QuerySource, service_runner
    from innograph.validation import Shapes, validate_contribution

    started = time.perf_counter()
    service = QueryService({"STORE": str(store), "REPO_DIR": str(REPO), "WORKERS": 2, "QUERY_TIMEOUT": 120}, prefixes=NS)
    try:
        info = service.wait_ready(3600)
        open_seconds = time.perf_counter() - started
        log(f"  store open in {open_seconds:.0f} s: {sum(info['graphs'].values())} triples")
        shapes = Shapes.from_paths(sorted((REPO / "shapes").glob("*.ttl")))
        assert shapes.scope.complete, "the shapes need the whole graph: every contribution would be validated in full"
        source = QuerySource(service_runner(service), [GRAPH + g for g in NOT_VALIDATED])
        contributions = Contributions(existing_things(service))
        turtle = format_for_media_type("text/turtle")
        results: dict[str, Any] = {"store_triples": sum(info["graphs"].values()), "open_seconds": round(open_seconds, 1), "sizes": {}}
        with Timed() as timer:
            for size in sizes:
                totals, cpus, all_cpus, parts, near_triples, focus, verdicts = [], [], [], {name: [] for name in timer.parts}, [], [], []
                for run in range(warmup + runs):
                    body, count = contributions.payload(size)
                    timer.reset()
                    pids0, e0 = executors_cpu(service)
                    t0, c0 = time.perf_counter(), time.thread_time()
                    payload = parse_payload(body, turtle, max_bytes=10 << 20, max_triples=100_000)
                    report = validate_contribution(payload.graph, source, shapes, allow_warnings=True)
                    elapsed = time.perf_counter() - t0
                    if run < warmup:
                        continue
                    totals.append(elapsed)
                    here = time.thread_time() - c0
                    pids1, e1 = executors_cpu(service)
                    cpus.append(here)
                    if pids1 == pids0:  # no executor replaced meanwhile: its CPU counts
                        all_cpus.append(here + e1 - e0)
                    for name, seconds in timer.parts.items():
                        parts[name].append(seconds)
                    near_triples.append(len(timer.near.graph))
                    focus.append(len(timer.near.focus))
                    verdicts.append(report.conforms)
                    if not report.conforms and verdicts.count(False) == 1:
                        log(f"    (a {count}-triple contribution does not conform: {[r.as_dict()['sourceShape'] for r in report.results][:3]})")
                row = {"triples": count, "runs": runs, "total_ms": stats_ms(totals), "total_cpu_ms": stats_ms(cpus),
                       "cpu_with_executors_ms": stats_ms(all_cpus) if all_cpus else None,
                       **{f"{name}_ms": stats_ms(values) for name, values in parts.items()},
                       "neighbourhood_triples_p50": int(statistics.median(near_triples)), "focus_nodes_p50": int(statistics.median(focus)),
                       "conforming": sum(verdicts)}
                results["sizes"][str(size)] = row
                log(f"  {count:>5} triples: p50 {row['total_ms']['p50']:>7.1f} ms  p95 {row['total_ms']['p95']:>7.1f} ms"
                    f"  (CPU p50 {row['total_cpu_ms']['p50']:.1f} here,"
                    f" {(row['cpu_with_executors_ms'] or {}).get('p50', float('nan')):.1f} with the executors'; walk p50 {row['neighbourhood_ms']['p50']:.1f},"
                    f" pySHACL p50 {row['pyshacl_ms']['p50']:.1f}, its CPU {row['pyshacl_cpu_ms']['p50']:.1f};"
                    f" {row['neighbourhood_triples_p50']} triples, {row['focus_nodes_p50']} focus nodes; {row['conforming']}/{runs} conform)")
        return results
    finally:
        service.close()


def _full_child(store: str, queue: Any) -> None:
    """In a child process: the union of the data graphs into rdflib, then pySHACL on it."""
    import pyoxigraph as ox
    from rdflib import Graph

    from innograph.rdfinput import from_ox
    from innograph.store import open_for_queries
    from innograph.validation import Shapes, validate

    started = time.perf_counter()
    excluded = {ox.NamedNode(GRAPH + g) for g in ("shapes", "inferred")}
    data = Graph()
    for quad in open_for_queries(store):
        if quad.graph_name not in excluded:
            data.add((from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object)))
    queue.put(("loaded", time.perf_counter() - started, len(data)))
    shapes = Shapes.from_paths(sorted((REPO / "shapes").glob("*.ttl")))
    started = time.perf_counter()
    report = validate(data, shapes, allow_warnings=True, with_ontology=False)
    queue.put(("validated", time.perf_counter() - started, len(report.results)))


def full_graph(store: Path, timeout: float, log: Any = print) -> dict[str, Any]:
    """Full-graph pySHACL under ``timeout`` seconds (rdflib load + validation), in a child."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_full_child, args=(str(store), queue), daemon=True)
    started = time.perf_counter()
    child.start()
    out: dict[str, Any] = {"timeout_s": timeout}
    deadline = started + timeout
    while "validate_s" not in out:
        try:
            kind, seconds, count = queue.get(timeout=max(0.1, min(5.0, deadline - time.perf_counter())))
        except Exception:  # noqa: BLE001 - queue.Empty: check the deadline and the child
            if time.perf_counter() >= deadline or not child.is_alive():
                break
            continue
        if kind == "loaded":
            out.update(rdflib_load_s=round(seconds, 1), triples=count)
            log(f"  full graph: {count} triples in rdflib in {seconds:.0f} s; pySHACL ...")
        else:
            out.update(validate_s=round(seconds, 1), results=count)
    if "validate_s" not in out:
        out["did_not_finish"] = True
        log(f"  full graph: did not finish in {timeout:.0f} s")
    child.join(timeout=10)
    if child.is_alive():
        child.kill()
        child.join()
    if "validate_s" in out:
        log(f"  full graph: pySHACL {out['validate_s']:.0f} s ({out['results']} results)")
    return out


def machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?")
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return {"cpu": model, "cores": os.cpu_count(), "memory_gib": round(memory / 2**30), "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d %H:%M %Z"), "commit": commit}


def main(argv: list[str] | None = None) -> int:
    generate = _generate_module()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=generate.parse_size, nargs="+", default=[1_000_000], help="graph sizes (1m, 10m)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="contribution sizes in triples")
    parser.add_argument("--runs", type=int, default=30, help="measured contributions per size")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--full-timeout", type=float, default=900, help="seconds for the full-graph pySHACL run")
    parser.add_argument("--full-max", type=generate.parse_size, default=2_000_000, help="skip the full-graph run above this many triples")
    parser.add_argument("--no-full", action="store_true", help="skip the full-graph run")
    args = parser.parse_args(argv)
    (BENCH / "out").mkdir(exist_ok=True)
    for triples in args.triples:
        print(f"graph of {triples} synthetic triples", flush=True)
        store = ensure_store(triples)
        result = {"machine": machine(), "graph_triples": triples, **measure(store, tuple(args.sizes), args.runs, args.warmup)}
        if args.no_full or triples > args.full_max:
            result["full"] = {"skipped": f"over --full-max ({args.full_max} triples)" if not args.no_full else "--no-full"}
            print(f"  full graph: skipped ({result['full']['skipped']})")
        else:
            result["full"] = full_graph(store, args.full_timeout)
        out = BENCH / "out" / f"validation-{triples}.json"
        out.write_text(json.dumps(result, indent=1))
        print(f"  -> {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
