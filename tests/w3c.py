"""Where the W3C conformance data is: ``../shared/conformance`` beside the repository (CI clones
the repository with ``shared/`` next to it). Tests that need it skip, saying so, when it is absent."""

from pathlib import Path

CONFORMANCE = Path(__file__).resolve().parents[1].parent / "shared" / "conformance"
SPARQL11 = CONFORMANCE / "rdf-tests" / "sparql" / "sparql11"


def conformance_missing() -> str | None:
    """Why the W3C tests cannot run, or None when they can."""
    if not (SPARQL11 / "manifest-all.ttl").is_file():
        return f"W3C conformance data not found at {SPARQL11} (expected ../shared beside the repository)"
    return None
