"""Seeded synthetic innovation-network graphs for benchmarks (100k / 1M / 10M triples).

The graph has the shapes of the real data (docs/modelling.md): networks (poles, clusters, hubs),
member organisations of several kinds, n-ary memberships with roles and periods, people,
projects carried by organisations, fundings, events with sub-events and n-ary participations,
and a territory hierarchy. Every thing has fr and en labels and IRIs under the public base, so
benchmark queries, pages and SHACL validation run on it as on the seed data.

    python bench/generate.py --triples 1000000 --out bench/data/synthetic-1m.nq

The output is N-Quads in the named graph ``graph/source/synthetic`` (plus two ``graph/meta``
quads describing that source), written as a stream: memory stays flat at 10M triples.
The same seed and size always give the same file.
"""

from __future__ import annotations

import argparse
import gzip
import random
import sys
from collections.abc import Iterator
from pathlib import Path

BASE = "https://w3id.org/innograph/"
ID = BASE + "id/"
INO = BASE + "ontology#"
GRAPH = f"<{BASE}graph/source/synthetic>"
META = f"<{BASE}graph/meta>"
DOC = f"<{ID}document/synthetic>"
FUNDER = f"<{ID}organisation/syn-authority>"

RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
ORG = "http://www.w3.org/ns/org#"
SCHEMA = "http://schema.org/"
TIME = "http://www.w3.org/2006/time#"
DCT_SOURCE = "<http://purl.org/dc/terms/source>"
XSD = "http://www.w3.org/2001/XMLSchema#"

SECTORS = ("health", "biotechnology", "construction", "plastics", "ict", "energy", "environment",
           "digital-industries", "manufacturing", "aeronautics", "space", "agri-food",
           "mechanical-engineering", "logistics", "robotics", "sensors", "water-treatment")
MEMBER_KINDS = (("Company", "entreprise", "company", 0.7), ("University", "université", "university", 0.05),
                ("HauteEcole", "haute école", "haute école", 0.08),
                ("ApprovedResearchCentre", "centre de recherche", "research centre", 0.1),
                ("TrainingOperator", "opérateur de formation", "training operator", 0.07))
NETWORK_KINDS = (("pole", "CompetitivenessPole", "pôle", "pole"), ("cluster", "Cluster", "cluster", "cluster"),
                 ("hub", "InnovationHub", "hub", "hub"))
SIZE_CLASSES = ("sme", "large")


def iri(path: str) -> str:
    return f"<{ID}{path}>"


def term(ns: str, local: str) -> str:
    return f"<{ns}{local}>"


def lit(value: str, lang: str) -> str:
    return f'"{value}"@{lang}'


def typed(value: object, datatype: str) -> str:
    return f'"{value}"^^<{XSD}{datatype}>'


class Generator:
    """Emits N-Quad lines; ``count`` is the number of data triples written so far."""

    def __init__(self, seed: int):
        self.rnd = random.Random(seed)
        self.count = 0

    def quad(self, s: str, p: str, o: str) -> str:
        self.count += 1
        return f"{s} {p} {o} {GRAPH} .\n"

    def labelled(self, s: str, cls: str, fr: str, en: str) -> Iterator[str]:
        yield self.quad(s, RDF_TYPE, term(INO, cls))
        yield self.quad(s, LABEL, lit(fr, "fr"))
        yield self.quad(s, LABEL, lit(en, "en"))

    def fact(self, s: str, cls: str, fr: str, en: str) -> Iterator[str]:
        """An n-ary node: typed, labelled, with its source and a (synthetic) supporting quote."""
        yield from self.labelled(s, cls, fr, en)
        yield self.quad(s, DCT_SOURCE, DOC)
        yield self.quad(s, term(INO, "quote"), lit(f"{fr} (texte synthétique)", "fr"))

    def places(self, n_regions: int, n_cities: int) -> Iterator[str]:
        country = iri("place/syn-country")
        yield from self.labelled(country, "Country", "Pays synthétique", "Synthetic country")
        for r in range(n_regions):
            region = iri(f"place/syn-region-{r}")
            yield from self.labelled(region, "Region", f"Région {r}", f"Region {r}")
            yield self.quad(region, term(SCHEMA, "containedInPlace"), country)
        for c in range(n_cities):
            city = iri(f"place/syn-city-{c}")
            yield from self.labelled(city, "City", f"Ville {c}", f"City {c}")
            yield self.quad(city, term(SCHEMA, "containedInPlace"), iri(f"place/syn-region-{c % n_regions}"))

    def periods(self) -> Iterator[str]:
        for start in range(2000, 2025):
            end = start + 5
            period = iri(f"period/{start}-{end}")
            yield self.quad(period, RDF_TYPE, term(TIME, "ProperInterval"))
            yield self.quad(period, LABEL, lit(f"{start}-{end}", "fr"))
            yield self.quad(period, LABEL, lit(f"{start}-{end}", "en"))
            for rel, year in (("hasBeginning", start), ("hasEnd", end)):
                instant = iri(f"instant/{year}")
                yield self.quad(period, term(TIME, rel), instant)
                yield self.quad(instant, RDF_TYPE, term(TIME, "Instant"))
                yield self.quad(instant, LABEL, lit(str(year), "fr"))
                yield self.quad(instant, LABEL, lit(str(year), "en"))
                yield self.quad(instant, term(TIME, "inXSDgYear"), typed(year, "gYear"))

    def network(self, n: int, n_regions: int) -> Iterator[str]:
        slug, cls, fr, en = NETWORK_KINDS[n % len(NETWORK_KINDS)]
        s = iri(f"{slug}/syn-{n}")
        yield from self.labelled(s, cls, f"{fr.capitalize()} synthétique {n}", f"Synthetic {en} {n}")
        yield self.quad(s, term(INO, "sector"), iri(f"sector/{self.rnd.choice(SECTORS)}"))
        region = iri(f"place/syn-region-{self.rnd.randrange(n_regions)}")
        yield self.quad(s, term(INO, "locatedIn" if cls == "InnovationHub" else "activeIn"), region)
        yield self.quad(s, term(SCHEMA, "foundingDate"), typed(self.rnd.randrange(1995, 2020), "gYear"))

    def organisation(self, o: int, networks: int, cities: int) -> Iterator[str]:
        rnd = self.rnd
        cls, fr, en = rnd.choices([k[:3] for k in MEMBER_KINDS], [k[3] for k in MEMBER_KINDS])[0]
        s = iri(f"organisation/syn-{o}")
        yield from self.labelled(s, cls, f"{fr.capitalize()} {o}", f"{en.capitalize()} {o}")
        yield self.quad(s, term(INO, "activeIn"), iri(f"place/syn-city-{rnd.randrange(cities)}"))
        yield self.quad(s, term(INO, "sector"), iri(f"sector/{rnd.choice(SECTORS)}"))
        if cls == "Company":
            yield self.quad(s, term(INO, "sizeClass"), iri(f"size-class/{rnd.choice(SIZE_CLASSES)}"))
        for k, net in enumerate(rnd.sample(range(networks), min(networks, rnd.randint(1, 3)))):
            yield from self.membership(f"syn-{o}-{k}", s, iri(f"{NETWORK_KINDS[net % 3][0]}/syn-{net}"), "member")
        for p in range(rnd.randint(0, 3)):
            yield from self.person(f"{o}-{p}", s)
        if rnd.random() < 0.5:
            yield from self.project(o, s, networks)

    def membership(self, slug: str, member: str, organisation: str, role: str) -> Iterator[str]:
        m = iri(f"membership/{slug}")
        yield from self.fact(m, "Membership", f"adhésion {slug}", f"membership {slug}")
        yield self.quad(m, term(ORG, "member"), member)
        yield self.quad(m, term(ORG, "organization"), organisation)
        yield self.quad(m, term(ORG, "role"), iri(f"role/{role}"))
        start = self.rnd.randrange(2000, 2025)
        yield self.quad(m, term(ORG, "memberDuring"), iri(f"period/{start}-{start + 5}"))

    def person(self, slug: str, employer: str) -> Iterator[str]:
        s = iri(f"person/syn-{slug}")
        yield from self.labelled(s, "Person", f"Personne {slug}", f"Person {slug}")
        yield self.quad(s, term("http://xmlns.com/foaf/0.1/", "name"), f'"Person {slug}"')
        yield from self.membership(f"syn-p-{slug}", s, employer, "researcher")

    def project(self, o: int, carrier: str, networks: int) -> Iterator[str]:
        rnd = self.rnd
        s = iri(f"project/syn-{o}")
        yield from self.labelled(s, rnd.choice(("LabelledProject", "ResearchProject")), f"Projet {o}", f"Project {o}")
        yield self.quad(s, term(INO, "carriedBy"), carrier)
        if o > 0 and rnd.random() < 0.5:  # a collaboration: a second carrier
            yield self.quad(s, term(INO, "carriedBy"), iri(f"organisation/syn-{rnd.randrange(o)}"))
        yield self.quad(s, term(INO, "sector"), iri(f"sector/{rnd.choice(SECTORS)}"))
        if rnd.random() < 0.6:
            f = iri(f"funding/syn-{o}")
            yield from self.fact(f, "Funding", f"financement {o}", f"funding {o}")
            yield self.quad(f, term(INO, "fundedItem"), s)
            yield self.quad(f, term(INO, "funder"), FUNDER)
            yield self.quad(f, term(INO, "amount"), typed(rnd.randrange(50, 5000) * 1000, "decimal"))
            yield self.quad(f, term(INO, "currency"), '"EUR"')
        if rnd.random() < 0.2:
            yield from self.event(o, carrier, s, networks)

    def event(self, o: int, participant_org: str, project: str, networks: int) -> Iterator[str]:
        rnd = self.rnd
        e = iri(f"event/syn-{o}")
        year = rnd.randrange(2010, 2026)
        yield from self.labelled(e, "Event", f"Journée d'innovation {o}", f"Innovation day {o}")
        yield self.quad(e, term(SCHEMA, "startDate"), typed(f"{year}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}", "date"))
        yield self.quad(e, term(SCHEMA, "organizer"), iri(f"{NETWORK_KINDS[o % networks % 3][0]}/syn-{o % networks}"))
        for k in range(rnd.randint(1, 3)):
            p = iri(f"participation/syn-{o}-{k}")
            yield from self.fact(p, "Participation", f"participation {o}-{k}", f"participation {o}-{k}")
            yield self.quad(p, term(INO, "participant"), iri(f"organisation/syn-{rnd.randrange(o + 1)}"))
            yield self.quad(p, term(INO, "inEvent"), e)
            yield self.quad(p, term(INO, "participationRole"), iri(f"role/{rnd.choice(('speaker', 'pitcher'))}"))
            yield self.quad(p, term(INO, "onBehalfOf"), participant_org)
            yield self.quad(p, term(INO, "presentedProject"), project)

    def graph(self, triples: int) -> Iterator[str]:
        """Lines of a graph of about ``triples`` data triples (it stops at the first unit past it)."""
        units = max(1, triples // 60)  # ~60 triples per member organisation and what hangs off it
        networks, regions = max(3, units // 40), max(2, units // 2000)
        cities = max(regions, units // 50)
        yield f"{GRAPH} <http://www.w3.org/ns/prov#wasDerivedFrom> {DOC} {META} .\n"
        yield f"{DOC} {RDF_TYPE} <{INO}SourceDocument> {META} .\n"
        yield f"{DOC} {LABEL} \"Données synthétiques de banc d'essai\"@fr {META} .\n"
        yield f"{DOC} {LABEL} \"Synthetic benchmark data\"@en {META} .\n"
        yield f"{DOC} <http://purl.org/dc/terms/identifier> \"synthetic\" {META} .\n"
        yield f"{DOC} <http://purl.org/dc/terms/language> \"en\" {META} .\n"
        yield from self.labelled(FUNDER, "PublicAuthority", "Autorité synthétique", "Synthetic authority")
        yield from self.places(regions, cities)
        yield from self.periods()
        for n in range(networks):
            yield from self.network(n, regions)
        o = 0
        while self.count < triples:
            yield from self.organisation(o, networks, cities)
            o += 1


def write(triples: int, out: Path, seed: int = 42) -> int:
    """Write the graph to ``out`` (gzip if it ends in .gz); returns the data triples written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    gen = Generator(seed)
    opener = gzip.open if out.suffix == ".gz" else open
    with opener(out, "wt", encoding="utf-8") as f:
        buffer: list[str] = []
        for line in gen.graph(triples):
            buffer.append(line)
            if len(buffer) >= 10000:
                f.write("".join(buffer))
                buffer.clear()
        f.write("".join(buffer))
    return gen.count


def parse_size(text: str) -> int:
    text = text.lower().replace("_", "")
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text[:-1] if factor > 1 else text) * factor)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=parse_size, default=1_000_000, help="about how many triples (100k, 1m, 10m)")
    parser.add_argument("--out", type=Path, help="output N-Quads file (.nq or .nq.gz); default bench/data/synthetic-SIZE.nq")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    out = args.out or Path(__file__).parent / "data" / f"synthetic-{args.triples}.nq"
    count = write(args.triples, out, args.seed)
    print(f"{count} triples written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
