"""The bottom layer every part speaks: errors, atomic writes, TOML reading, the particle
track, the label-coverage invariant, the sequence schema, the tasks and the splits.

Nothing here imports a part above it (sim, render, datasets, baselines, benchmark) or the
command line.
"""
