"""The benchmark generator: seeded (same seed, same bytes), parseable, close to the asked size."""

import importlib.util
from pathlib import Path

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
generate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(generate)


def test_same_seed_same_graph_and_size(tmp_path):
    a, b = tmp_path / "a.nq", tmp_path / "b.nq"
    count = generate.write(5000, a, seed=7)
    generate.write(5000, b, seed=7)
    assert a.read_bytes() == b.read_bytes()
    assert 5000 <= count < 5200
    store = ox.Store()
    store.bulk_load(path=str(a), format=ox.RdfFormat.N_QUADS)
    kinds = {s["c"].value.rsplit("#", 1)[1] for s in store.query("SELECT DISTINCT ?c { GRAPH ?g { ?s a ?c } }")}
    assert {"CompetitivenessPole", "Cluster", "Company", "Membership", "Person", "Funding"} <= kinds
    labels = store.query(
        "ASK { GRAPH ?g { ?s a <https://w3id.org/innograph/ontology#Company> FILTER NOT EXISTS { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l FILTER(lang(?l) = 'en') } } }"
    )
    assert not labels


def test_sizes_parse():
    assert generate.parse_size("100k") == 100_000
    assert generate.parse_size("1m") == 1_000_000
    assert generate.parse_size("10M") == 10_000_000
    assert generate.parse_size("2500") == 2500


def test_synthetic_graph_conforms_to_the_shapes(tmp_path):
    """Benchmarks validate contributions against this graph: it must conform like the real data."""
    import rdflib
    from pyshacl import validate

    out = tmp_path / "s.nq"
    generate.write(2000, out, seed=3)
    dataset = rdflib.Dataset()
    dataset.parse(out, format="nquads")
    data = rdflib.Graph()
    for s, p, o, _ in dataset.quads():
        data.add((s, p, o))
    for path in sorted((ROOT / "ontology").glob("*.ttl")):
        data.parse(path)
    shapes = rdflib.Graph().parse(ROOT / "shapes" / "innograph-shapes.ttl")
    conforms, _, text = validate(data, shacl_graph=shapes, inference="none")
    assert conforms, text
