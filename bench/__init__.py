"""Load benchmark of the petition journey: `python -m bench.run` (or `make bench`).

See `bench/README.md` for what it measures and `bench/RESULTS.md` for the latest numbers.
"""
