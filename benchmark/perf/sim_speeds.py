"""Who sets a pour's time step: the fastest particles, how they compare with free fall, and
which solver stage made them fast.

Usage::

    python -m pourbench.benchmark.perf.sim_speeds sim/scenes/pour_r09.toml --duration 1.0

The CFL step is set by the single fastest fluid particle, so a handful of fast drops set
everyone's step. This script steps a pour as ``pourbench simulate`` does and, every
``--every`` steps, records the speeds of the fastest, 10th and 100th fastest particles, the
fluid neighbours of the fastest, and the free-fall speed from the settled water's top to its
height plus the fastest container point's speed (energy allows no more). With
``--stages`` it also records, for every step, each stage's velocity jumps above
``--jump`` m/s that sped a particle up, and the wall it was nearest (slow: two read-backs per
stage). Each solver's warm start is applied in the pass before it (the density stage applies
the divergence solve's, the non-pressure forces the density solve's), so their gains count
there. ``--json FILE`` saves it all.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import Counter

import numpy as np

GRAVITY = 9.81
STAGES = ("compute_density_and_factor", "divergence_solve", "apply_non_pressure_forces",
          "density_solve", "_cap_speed")


class _StageJumps:
    """Wraps solver stages to count the velocity jumps each one makes (and near which wall)."""

    def __init__(self, solver, threshold: float):
        self.solver, self.threshold = solver, threshold
        self.jumps = {name: Counter() for name in STAGES}
        self.largest = dict.fromkeys(STAGES, 0.0)
        for name in STAGES:
            setattr(solver, name, self._wrap(name, getattr(solver, name)))

    def _wrap(self, name, stage):
        def run(*args, **kwargs):
            v0 = self.solver.v.to_numpy()
            out = stage(*args, **kwargs)
            v1 = self.solver.v.to_numpy()
            gain = np.linalg.norm(v1, axis=1) - np.linalg.norm(v0, axis=1)
            fast = np.nonzero(gain > self.threshold)[0]
            if len(fast):
                wall = self.solver.wall_f.to_numpy()[fast]
                near = np.where(wall.max(axis=1) > 0.0, wall.argmax(axis=1), -1)
                self.jumps[name].update(self._wall_name(int(k)) for k in near)
                self.largest[name] = max(self.largest[name], float(gain[fast].max()))
            return out
        return run

    def _wall_name(self, k: int) -> str:
        bodies = self.solver.bodies.bodies
        if k < 0:
            return "no wall"
        return bodies[k].name if k < len(bodies) else "table"


def fastest_particles(scene_file: str, duration: float | None = None, every: int = 20,
                      stages: bool = False, jump: float = 0.3, arch: str = "cpu",
                      threads: int | None = None) -> dict:
    """Step a pour and sample who is fastest; see the module docstring."""
    from pourbench.sim.backend import init_taichi
    from pourbench.sim.pour import SETTLE_DAMPING, build_scene, make_solver, settle
    from pourbench.sim.scenario import load_scenario, validate_scenario

    init_taichi(arch, threads)
    sc = load_scenario(scene_file)
    if duration is not None:
        sc = validate_scenario({**sc.model_dump(), "duration_s": duration}, "--duration")
    solver = make_solver(sc, build_scene(sc))
    settle(solver, sc.solver.settle_s, SETTLE_DAMPING)
    y_top = float(solver.x.to_numpy()[:, 1].max())
    tracker = _StageJumps(solver, jump) if stages else None
    s, steps0, t0 = solver.settings, solver.stats.steps, time.perf_counter()
    samples = []
    num_frames = int(math.floor(sc.duration_s * sc.fps + 1e-9)) + 1
    for f in range(num_frames):
        while solver.time < f / sc.fps - 1e-7:
            dt = solver.step(dt_cap=f / sc.fps - solver.time)
            if (solver.stats.steps - steps0) % every:
                continue
            x, v = solver.x.to_numpy(), solver.v.to_numpy()
            speed = np.linalg.norm(v, axis=1)
            order = np.argsort(speed)[::-1]
            i = int(order[0])
            samples.append({
                "t": solver.time, "dt": dt,
                "fastest": float(speed[i]), "10th": float(speed[order[min(9, len(order) - 1)]]),
                "100th": float(speed[order[min(99, len(order) - 1)]]),
                "free_fall_at_fastest": math.sqrt(2 * GRAVITY * max(y_top - float(x[i, 1]), 0.0)),
                "container_speed": solver.bodies.max_speed(solver.time, s.max_dt),
                "neighbours_of_fastest": int(solver.grid.fluid_nb_count.to_numpy()[i]),
                "at_speed_limit": int((speed >= 0.999 * s.speed_limit).sum()),
            })
    out = {"scene": scene_file, "num_particles": solver.n, "particle_radius": solver.r,
           "speed_limit": s.speed_limit, "cfl": s.cfl, "settled_top_y": y_top,
           "duration_s": sc.duration_s,
           "steps": solver.stats.steps - steps0, "wall_s": time.perf_counter() - t0,
           "samples": samples, "safety_nets": solver.leak_counts()}
    if tracker:
        out["speed_gains"] = {k: dict(c) for k, c in tracker.jumps.items()}
        out["largest_gain"] = tracker.largest
    out["summary"] = _summary(out)
    return out


def _summary(res: dict) -> dict:
    """Medians over the samples: how far the fastest run ahead of the rest and of free fall."""
    a = res["samples"]
    if not a:
        return {}

    def med(key):
        return float(np.median([row[key] for row in a]))
    r = res["particle_radius"]
    fastest = med("fastest")
    return {
        "fastest_median": fastest, "10th_median": med("10th"), "100th_median": med("100th"),
        "fastest_over_energy_bound_median": float(np.median(
            [row["fastest"] / max(row["free_fall_at_fastest"] + row["container_speed"], 1e-3)
             for row in a])),
        "share_fastest_isolated": float(np.mean([row["neighbours_of_fastest"] < 5 for row in a])),
        "share_at_speed_limit": float(np.mean([row["at_speed_limit"] > 0 for row in a])),
        # the step the 100th fastest would allow against the one the fastest allows
        "cfl_dt_of_fastest_ms": 1e3 * res["cfl"] * 2 * r / max(fastest, 1e-6),
        "dt_gain_if_100th_set_it": fastest / max(med("100th"), 1e-6),
    }


def _print(res: dict) -> None:
    print(f"{res['scene']}: {res['num_particles']} particles, r = {res['particle_radius']} m, "
          f"{res['steps']} steps over {res['duration_s']:.3g} s in {res['wall_s']:.0f} s; "
          f"settled water top y = {res['settled_top_y']:.3f} m, speed limit "
          f"{res['speed_limit']} m/s")
    print("     t     dt ms  fastest  10th  100th  free fall  container  nbs  at limit")
    rows = res["samples"]
    for row in rows[:: max(1, len(rows) // 30)]:
        print(f"  {row['t']:6.3f}  {1e3 * row['dt']:6.3f}  {row['fastest']:6.2f}  "
              f"{row['10th']:5.2f}  {row['100th']:5.2f}  {row['free_fall_at_fastest']:8.2f}  "
              f"{row['container_speed']:9.2f}  {row['neighbours_of_fastest']:4d}  "
              f"{row['at_speed_limit']:5d}")
    s = res["summary"]
    if s:
        print(f"  medians: fastest {s['fastest_median']:.2f}, 10th {s['10th_median']:.2f}, "
              f"100th {s['100th_median']:.2f} m/s; fastest / (free fall + container) "
              f"{s['fastest_over_energy_bound_median']:.2f}; fastest has < 5 neighbours in "
              f"{100 * s['share_fastest_isolated']:.0f} % of samples; someone at the speed "
              f"limit in {100 * s['share_at_speed_limit']:.0f} %; if the 100th fastest set the "
              f"step it would be {s['dt_gain_if_100th_set_it']:.2f}x longer")
    for stage, counts in res.get("speed_gains", {}).items():
        print(f"  {stage}: speed gains > jump by wall {counts or '{}'}, largest "
              f"{res['largest_gain'][stage]:.2f} m/s")
    print(f"  safety nets: {res['safety_nets']}")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scene", help="scenario TOML (e.g. sim/scenes/pour_r09.toml)")
    ap.add_argument("--duration", type=float, default=None, help="simulated pour seconds")
    ap.add_argument("--every", type=int, default=20, help="sample every N steps")
    ap.add_argument("--stages", action="store_true",
                    help="also count each stage's speed gains (slow)")
    ap.add_argument("--jump", type=float, default=0.3,
                    help="speed gain in one stage that counts, m/s")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--arch", default="cpu", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    if args.every < 1:
        ap.error("--every must be at least 1")
    from pourbench.core.errors import PourbenchError

    try:
        res = fastest_particles(args.scene, args.duration, args.every, args.stages, args.jump,
                                args.arch, args.threads)
    except PourbenchError as e:  # a bad scene file or --duration: one line
        print(f"sim_speeds: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    _print(res)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=2)
    return res


if __name__ == "__main__":
    main()
