"""The foundation under every other package: small helpers that import nothing
of rnnkit's (atomic file writing, argument checks). Any package may import it,
cells included; it imports no other rnnkit package (tests/test_imports.py)."""
