"""`python -m kiln` runs the CLI."""

from kiln.cli import app

app(prog_name="kiln")
