"""Dam-break time to solution and accuracy of pourbench.sim against SPlisHSPlasH.

Usage::

    pourbench bench sim [--repeats 3] [--json FILE]
    python -m pourbench.benchmark.perf.sim_dambreak --radius 0.0011430 --t-end 0.162

The scene is Martin & Moyce's (1952) square column (a x 2a x a of water in a tank 4a long,
r = a/50: 31 250 particles) run to T = 3. Each repetition runs, one after the other: our
DFSPH, SPlisHSPlasH's DFSPH with its own CFL policy (factor 0.5), and SPlisHSPlasH at our CFL
policy (factor cfl / 0.4: dt = cfl * 2r / v_max, as ours; ``--cfl``, default 0.4, factor
1.0); the codes alternate over ``--repeats``
repetitions so that a change in machine load hits all of them alike. For each code it prints
and saves the medians of:

- ``sim_seconds_per_wall_second``: simulated seconds per second of stepping (time to solution;
  set-up, boundary sampling and the first step of the peer are not counted, nor ours);
- ``particle_steps_per_s``: fluid particles x steps / stepping seconds (cost of one step; says
  nothing of how long a step is);
- ``steps``, ``mean_dt`` (s), ``iterations_per_step`` (pressure + divergence solver);
- ``rms_error``: RMS relative error of the surge front (max x of the fluid) against Martin &
  Moyce for T in [0.8, 2.8].

``--json FILE`` writes objects ``ours``, ``peer`` and ``peer_our_cfl`` with those keys, the
``ratios`` ours / peer, every run, the machine load and the settings. SPlisHSPlasH runs in a
subprocess (``pip install pourbench[peers]``); without it only ours is measured.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import logging
import math
import os
import statistics

from pourbench.sim.validation import (
    MARTIN_MOYCE_A,
    REFERENCE_CSV,
    dam_break,
    front_rms_difference,
    front_rms_error,
)

logger = logging.getLogger(__name__)

KEYS = ("sim_seconds_per_wall_second", "particle_steps_per_s", "steps", "mean_dt",
        "iterations_per_step", "rms_error", "wall_s")
PEER_CFL_FACTOR = 0.5  # SPlisHSPlasH's default (and the README's reference runs)
BOUNDARY_NAMES = {"particles": "Akinci 2012 particles",
                  "sdf": "signed distance (wall_profile), floor as the table plane"}
PEER_CFL_SCALE = 0.4  # SPlisHSPlasH: dt = factor * 0.4 * 2r / v_max; ours: cfl * 2r / v_max


def _field(obj, name: str):
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


def _peer():
    # never import pysplishsplash here: it runs in its own process (it crashes beside Taichi)
    if importlib.util.find_spec("pysplishsplash") is None:
        logger.info("peer not available: pysplishsplash is not installed")
        return None
    try:
        return importlib.import_module("pourbench.benchmark.perf.peer_splishsplash")
    except ImportError as e:
        logger.info("peer not available (%s)", e)
        return None


def _loadavg() -> list[float] | None:
    try:
        return [float(v) for v in open("/proc/loadavg").read().split()[:3]]
    except OSError:
        return None


def run_ours(args, t_end: float) -> tuple[dict, tuple]:
    res = dam_break(args.a, args.radius, t_end, args.arch, args.settings, args.threads,
                    boundary=args.boundary)
    solve_s = res.stats["solve_seconds"]
    run = {
        "sim_seconds_per_wall_second": t_end / solve_s,
        "particle_steps_per_s": res.particle_steps_per_s,
        "steps": res.steps,
        "mean_dt": t_end / res.steps,
        "iterations_per_step": res.mean_iterations,
        "rms_error": _rms_or_nan(res.T, res.Z),
        "wall_s": solve_s,
        "num_particles": res.num_particles,
        "num_boundary": res.num_boundary,
        "arch": res.arch,
        "wall_corrections": res.stats.get("wall_corrections", 0),
    }
    return run, (res.T, res.Z)


def _rms_or_nan(T, Z) -> float:
    """The front's RMS error against Martin & Moyce; NaN when the run ended before the
    reference's last time (a short ``--t-end``) or blew up."""
    try:
        return front_rms_error(T, Z, REFERENCE_CSV)
    except ValueError:
        return float("nan")


def run_peer(peer, args, t_end: float, cfl_factor: float) -> tuple[dict, tuple]:
    res = peer.run_peer_dambreak(a=args.a, particle_radius=args.radius, t_end=t_end,
                                 density_tol=args.density_tol,
                                 divergence_tol=args.divergence_tol,
                                 timeout_s=args.peer_timeout, threads=args.peer_threads,
                                 cfl_factor=cfl_factor, boundary=args.peer_boundary)
    T, Z = _field(res, "T"), _field(res, "Z")
    s = _field(res, "settings")
    steps = int(_field(res, "steps"))
    wall = float(_field(res, "wall_s"))
    timed = max(steps - 1, 1)
    sim_timed = float(T[-1] - T[1]) / math.sqrt(2 * 9.81 / args.a)  # first step not timed
    err = _rms_or_nan(T, Z)
    stable = (s.get("escaped_particles_end", 0) == 0 and s.get("max_speed_peak", 0.0) < 10.0
              and math.isfinite(err))
    run = {
        "sim_seconds_per_wall_second": sim_timed / wall,
        "particle_steps_per_s": float(_field(res, "particle_steps_per_s")),
        "steps": steps,
        "mean_dt": t_end / steps,
        "iterations_per_step": s.get("mean_pressure_iterations", 0.0)
        + s.get("mean_divergence_iterations", 0.0),
        "rms_error": err,
        "wall_s": wall * steps / timed,  # the untimed first step counted at the mean rate
        "num_particles": int(_field(res, "num_particles")),
        "num_boundary": s.get("boundary_particles"),
        "cfl_factor": cfl_factor,
        "stable": bool(stable),
        "escaped_particles": s.get("escaped_particles_end"),
        "max_speed_peak": s.get("max_speed_peak"),
        "version": _field(res, "version"),
    }
    return run, (T, Z)


def _median(runs: list[dict]) -> dict | None:
    if not runs:
        return None
    out = {k: statistics.median(r[k] for r in runs) for k in KEYS}
    out["runs"] = len(runs)
    for k, v in runs[0].items():
        if k not in KEYS and not isinstance(v, float):
            out[k] = v
    if "stable" in runs[0]:
        out["stable"] = all(r["stable"] for r in runs)
    return out


def _ratios(ours: dict, other: dict | None) -> dict | None:
    if other is None:
        return None
    return {
        "sim_seconds_per_wall_second": ours["sim_seconds_per_wall_second"]
        / other["sim_seconds_per_wall_second"],
        "particle_steps_per_s": ours["particle_steps_per_s"] / other["particle_steps_per_s"],
        "steps": ours["steps"] / other["steps"],
        "rms_error": ours["rms_error"] / other["rms_error"] if other["rms_error"] else None,
    }


def _line(name: str, m: dict) -> str:
    extra = "" if m.get("stable", True) else "  UNSTABLE (particles escaped or blew up)"
    return (f"{name:<22} {m['sim_seconds_per_wall_second']:.4f} sim s/wall s  "
            f"{m['particle_steps_per_s']:>9,.0f} particle-steps/s  steps {m['steps']:.0f}  "
            f"mean dt {1e3 * m['mean_dt']:.3f} ms  iterations/step "
            f"{m['iterations_per_step']:.1f}  RMS error {100 * m['rms_error']:.1f} %{extra}")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", type=float, default=MARTIN_MOYCE_A, help="column width, m")
    ap.add_argument("--radius", type=float, default=MARTIN_MOYCE_A / 50,
                    help="particle radius, m (a/50: 25 x 50 x 25 = 31 250 particles)")
    ap.add_argument("--t-end", type=float, default=None, help="simulated time, s (T = 3)")
    ap.add_argument("--arch", default="cpu", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=None, help="our CPU threads (all)")
    ap.add_argument("--peer-threads", type=int, default=None,
                    help="SPlisHSPlasH OpenMP threads (default: --threads, else all cores)")
    ap.add_argument("--boundary", default="particles", choices=["particles", "sdf"],
                    help="our walls: Akinci particles or signed distance (as in pours)")
    ap.add_argument("--peer-boundary", default="particles", choices=["particles", "volume_maps"],
                    help="SPlisHSPlasH's walls: Akinci particles or its volume maps "
                    "(Bender et al. 2019)")
    ap.add_argument("--density-tol", type=float, default=0.0005)
    ap.add_argument("--divergence-tol", type=float, default=0.001)
    ap.add_argument("--cfl", type=float, default=None,
                    help="our CFL number (default: the solver's, 0.4); SPlisHSPlasH at our CFL "
                    "policy follows it")
    ap.add_argument("--repeats", type=int, default=3, help="alternating repetitions (>= 1)")
    ap.add_argument("--no-peer", action="store_true", help="skip SPlisHSPlasH")
    ap.add_argument("--no-peer-our-cfl", action="store_true",
                    help="skip SPlisHSPlasH at our CFL policy")
    ap.add_argument("--peer-timeout", type=float, default=1800.0)
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    from pydantic import ValidationError

    from pourbench.sim.scenario import SolverSettings

    chosen = {"density_tol": args.density_tol, "divergence_tol": args.divergence_tol}
    if args.cfl is not None:
        chosen["cfl"] = args.cfl
    try:  # ours, as a scenario's [solver] table would set them, with its bounds
        args.settings = SolverSettings(**chosen)
    except ValidationError as e:
        bad = e.errors()[0]
        field = str(bad["loc"][0])
        ap.error(f"--{field.replace('_', '-')} {chosen[field]:g}: {bad['msg']}")
    args.cfl = args.settings.cfl
    if args.peer_threads is None:
        args.peer_threads = args.threads or os.cpu_count() or 2

    t_end = args.t_end or 3.0 / math.sqrt(2 * 9.81 / args.a)
    peer = None if args.no_peer else _peer()
    codes = ["ours"]
    if peer is not None:
        codes.append("peer")
        if not args.no_peer_our_cfl:
            codes.append("peer_our_cfl")
    runs: dict[str, list[dict]] = {c: [] for c in codes}
    fronts: dict[str, tuple] = {}
    load = [_loadavg()]
    for rep in range(args.repeats):
        order = codes if rep % 2 == 0 else codes[::-1]  # alternate who goes first
        for code in order:
            if code == "ours":
                run, front = run_ours(args, t_end)
            else:
                factor = PEER_CFL_FACTOR if code == "peer" else args.cfl / PEER_CFL_SCALE
                run, front = run_peer(peer, args, t_end, factor)
            run["repetition"] = rep
            runs[code].append(run)
            fronts[code] = front
            print(_line(f"[{rep + 1}/{args.repeats}] {code}", run), flush=True)
        load.append(_loadavg())

    med = {c: _median(runs[c]) for c in codes}
    ours = med["ours"]
    out = {
        "scene": {"a": args.a, "radius": args.radius, "t_end": t_end, "T_end": 3.0
                  if args.t_end is None else t_end * math.sqrt(2 * 9.81 / args.a),
                  "num_particles": ours["num_particles"],
                  "boundary": {"ours": BOUNDARY_NAMES[args.boundary],
                               "peer": peer.BOUNDARY_NAMES[args.peer_boundary]
                               if peer is not None else None},
                  "num_boundary_ours": ours["num_boundary"], "cfl_ours": args.cfl,
                  "density_tol": args.density_tol,
                  "divergence_tol": args.divergence_tol, "threads": args.threads,
                  "peer_threads": args.peer_threads if peer is not None else None,
                  "repeats": args.repeats},
        "loadavg": load,
        "ours": ours,
        "peer": med.get("peer"),
        "peer_our_cfl": med.get("peer_our_cfl"),
        "ratios": _ratios(ours, med.get("peer")),
        "ratios_peer_our_cfl": _ratios(ours, med.get("peer_our_cfl")),
        "runs": runs,
    }
    print(f"medians over {args.repeats} alternating repetitions "
          f"(load average before/after: {load[0]} / {load[-1]})")
    print(_line("pourbench.sim", ours))
    names = (("peer", "SPlisHSPlasH (0.5 CFL)"), ("peer_our_cfl", "SPlisHSPlasH (our CFL)"))
    for code, name in names:
        if med.get(code) is not None:
            print(_line(name, med[code]))
            r = _ratios(ours, med[code])
            diff = front_rms_difference(*fronts["ours"], *fronts[code])
            out.setdefault("front_rms_difference", {})[code] = diff
            print(f"  ours / {code}: {r['sim_seconds_per_wall_second']:.2f}x simulated s per "
                  f"wall s, {r['particle_steps_per_s']:.2f}x particle-steps/s, "
                  f"{r['steps']:.2f}x steps; fronts differ by {100 * diff:.1f} % RMS")
    if peer is None and not args.no_peer:
        print("SPlisHSPlasH peer unavailable (pysplishsplash not installed)")
    if args.json:
        from pourbench.core.atomic import write_text_atomic

        write_text_atomic(args.json, json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
