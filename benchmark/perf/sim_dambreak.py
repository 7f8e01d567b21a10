"""Dam-break throughput and accuracy of pourbench.sim, optionally against SPlisHSPlasH.

Usage::

    python -m pourbench.benchmark.perf.sim_dambreak --radius 0.0011430 --t-end 0.162

Prints particle-steps per second and the RMS relative error of the surge front against
Martin & Moyce (1952) for T in [0.8, 2.8]; when the peer module
``pourbench.benchmark.perf.peer_splishsplash`` and ``pysplishsplash`` import, it runs the peer
on the same scene and tolerances and prints both throughputs, both errors, their ratio and
the RMS relative difference between the two fronts.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import logging
import math

from pourbench.sim.validation import (
    MARTIN_MOYCE_A,
    REFERENCE_CSV,
    dam_break,
    front_rms_difference,
    front_rms_error,
)

logger = logging.getLogger(__name__)


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


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", type=float, default=MARTIN_MOYCE_A, help="column width, m")
    ap.add_argument("--radius", type=float, default=MARTIN_MOYCE_A / 50,
                    help="particle radius, m (a/50: 25 x 50 x 25 = 31 250 particles)")
    ap.add_argument("--t-end", type=float, default=None, help="simulated time, s (T = 3)")
    ap.add_argument("--arch", default="cpu", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--density-tol", type=float, default=0.0005)
    ap.add_argument("--divergence-tol", type=float, default=0.001)
    ap.add_argument("--no-peer", action="store_true", help="skip SPlisHSPlasH")
    ap.add_argument("--peer-timeout", type=float, default=1800.0)
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    from pourbench.sim.scenario import SolverSettings

    t_end = args.t_end or 3.0 / math.sqrt(2 * 9.81 / args.a)
    settings = SolverSettings(density_tol=args.density_tol, divergence_tol=args.divergence_tol)
    ours = dam_break(args.a, args.radius, t_end, args.arch, settings, args.threads)
    err = front_rms_error(ours.T, ours.Z, REFERENCE_CSV)
    out = {
        "radius": args.radius, "t_end": t_end, "arch": ours.arch,
        "num_particles": ours.num_particles, "num_boundary": ours.num_boundary,
        "steps": ours.steps, "mean_iterations": ours.mean_iterations,
        "ours_particle_steps_per_s": ours.particle_steps_per_s, "ours_rms_error": err,
        "ours_wall_s": ours.wall_s,
    }
    print(f"pourbench.sim  N={ours.num_particles}  steps={ours.steps}  "
          f"iterations/step={ours.mean_iterations:.1f}  "
          f"{ours.particle_steps_per_s:,.0f} particle-steps/s  RMS error {100 * err:.1f} %")
    peer = None if args.no_peer else _peer()
    res = None
    if peer is not None:
        res = peer.run_peer_dambreak(a=args.a, particle_radius=args.radius, t_end=t_end,
                                     density_tol=args.density_tol,
                                     divergence_tol=args.divergence_tol,
                                     timeout_s=args.peer_timeout)
    if peer is not None and res is None:
        print("SPlisHSPlasH peer unavailable (pysplishsplash not installed)")
    elif peer is not None:
        pT, pZ = _field(res, "T"), _field(res, "Z")
        p_rate = float(_field(res, "particle_steps_per_s"))
        p_err = front_rms_error(pT, pZ, REFERENCE_CSV)
        diff = front_rms_difference(ours.T, ours.Z, pT, pZ)
        out.update(peer_particle_steps_per_s=p_rate, peer_rms_error=p_err,
                   throughput_ratio=ours.particle_steps_per_s / p_rate,
                   front_rms_difference=diff)
        print(f"SPlisHSPlasH   {p_rate:,.0f} particle-steps/s  RMS error {100 * p_err:.1f} %")
        print(f"ratio ours/peer {ours.particle_steps_per_s / p_rate:.2f}   "
              f"front RMS difference ours vs peer {100 * diff:.1f} %")
    if args.json:
        from pourbench.core.atomic import write_text_atomic

        write_text_atomic(args.json, json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
