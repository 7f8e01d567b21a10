"""How much of the hydrostatic tank's pressure error is the particle arrangement's: the
test's tank and fits (``hydrostatic_fits``), repeated with the starting lattice jittered.

Usage::

    python -m pourbench.benchmark.perf.hydrostatic_spread --max-dt 0.002 --seeds 4

Row ``lattice`` is the test's own run; each ``seed K`` row moves every starting particle by a
seeded uniform offset of at most ``--jitter`` m (default 1e-7 m, 2e-5 r: far below anything
physical, it only makes the water settle into another arrangement). The spread of the rows is
the resolution of the test's figures: a solver change inside it is not measured by one run.
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def spread(max_dt: float, seeds: int, jitter: float, clamp: str = "density",
           arch: str = "cpu", boundary: str = "particles") -> dict:
    """Fits of the unjittered tank and of ``seeds`` jittered ones, with their ranges."""
    from pourbench.sim.scenario import SolverSettings
    from pourbench.sim.validation import hydrostatic_fits, hydrostatic_tank

    settings = SolverSettings(max_dt=max_dt, pressure_clamp=clamp)
    rows = []
    for seed in [None, *range(seeds)]:
        res = hydrostatic_tank(particle_radius=0.005, counts=(8, 16, 8), t_end=1.0, arch=arch,
                               settings=settings, readout_times=(0.6, 0.7, 0.8, 0.9),
                               jitter=0.0 if seed is None else jitter, seed=seed or 0,
                               boundary=boundary)
        fits = hydrostatic_fits(res)
        rows.append({"seed": seed, "slope": fits.slope, "weight_ratio": fits.weight_ratio,
                     "surface_offset_m": fits.surface_offset,
                     "max_speed": float(res.speed.max())})
        name = "lattice" if seed is None else f"seed {seed}"
        print(f"{name:>8}: slope {fits.slope:.4f} rho g, weight ratio {fits.weight_ratio:.4f}, "
              f"fastest particle at the end {res.speed.max():.3f} m/s", flush=True)
    out = {"max_dt": max_dt, "jitter_m": jitter, "pressure_clamp": clamp, "boundary": boundary,
           "rows": rows}
    for key in ("slope", "weight_ratio", "max_speed"):
        values = np.array([row[key] for row in rows])
        out[key] = {"min": float(values.min()), "max": float(values.max()),
                    "mean": float(values.mean())}
        print(f"{key}: {values.min():.4f}-{values.max():.4f} (mean {values.mean():.4f}) "
              f"over {len(values)} arrangements")
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-dt", type=float, default=0.002, help="time-step cap, s")
    ap.add_argument("--seeds", type=int, default=4, help="jittered arrangements")
    ap.add_argument("--jitter", type=float, default=1e-7, help="largest offset, m")
    ap.add_argument("--clamp", default="density", choices=["density", "pressure"])
    ap.add_argument("--arch", default="cpu", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--boundary", default="particles", choices=["particles", "sdf"],
                    help="the tank's walls: Akinci particles or signed distance (as in pours)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    if args.seeds < 0 or args.jitter <= 0.0 or not 1e-5 <= args.max_dt <= 0.01:
        ap.error("--seeds must be >= 0, --jitter > 0 and --max-dt within 1e-5..0.01 s")
    out = spread(args.max_dt, args.seeds, args.jitter, args.clamp, args.arch, args.boundary)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=2)
    return out


if __name__ == "__main__":
    main()
