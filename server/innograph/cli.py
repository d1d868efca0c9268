"""The ``innograph`` command line (see docs/design.md): serve, load, query, validate, export."""

import click


@click.group()
def main() -> None:
    """innograph: a knowledge graph of innovation networks."""
