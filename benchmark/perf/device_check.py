"""The simulator on a GPU, in one prepared run: the dam break at about a million particles and
one 15-s `standard` pour, each in its own process under a time limit, the figures in one JSON.

Usage (a machine with CUDA; one call of a few minutes)::

    pourbench bench device --out device_check
    python -m pourbench.benchmark.perf.device_check --out device_check --budget-s 540

A GPU may be lent for minutes only, so the run is prepared to fit: the dam break (Martin &
Moyce's column at r = a/158: 79 x 158 x 79 = 986 078 fluid particles, to T = 3, ours only)
gets at most ``--dam-share`` of the budget and the pour (`standard` scenario 0, r = 0.9 mm,
60 697 particles, as ``sim_profile --recipe standard --scenario 0 --windows 1``) the rest.
A step that fails or runs out of time is recorded as such, and the other still runs.
Each step's output is kept next to the JSON (``<out>/<step>.log``).

``--smoke`` runs the same steps at toy size (a 250-particle dam break, the `tiny` recipe for
0.2 s) on any backend: what the tests run on the CPU, so the script is known to work before
a GPU is at hand.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path

from pourbench.sim.validation import MARTIN_MOYCE_A

DAM_RADIUS = MARTIN_MOYCE_A / 158  # 79 x 158 x 79 = 986 078 particles (about a million)


def _gpu_names() -> list[str]:
    """The GPUs nvidia-smi lists (name, memory), or [] where there is none."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "--query-gpu=name,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def _steps(args, out: Path) -> list[tuple[str, list[str], Path]]:
    """(name, command, JSON file) of each step."""
    py = [sys.executable, "-m"]
    dam_json, pour_json = out / "dam_break.json", out / "pour.json"
    dam = py + ["pourbench.benchmark.perf.sim_dambreak", "--arch", args.arch, "--no-peer",
                "--repeats", "1", "--json", str(dam_json)]
    pour = py + ["pourbench.benchmark.perf.sim_profile", "--arch", args.arch,
                 "--json", str(pour_json)]
    if args.smoke:
        dam += ["--radius", str(MARTIN_MOYCE_A / 10), "--t-end", "0.05"]
        pour += ["--recipe", "tiny", "--scenario", "0", "--duration", "0.2", "--windows", "0.1"]
    else:
        dam += ["--radius", str(args.dam_radius)]
        pour += ["--recipe", "standard", "--scenario", "0", "--windows", "1"]
        if args.pour_duration is not None:
            pour += ["--duration", str(args.pour_duration)]
    return [("dam_break", dam, dam_json), ("pour", pour, pour_json)]


def _run_step(name: str, cmd: list[str], json_path: Path, log: Path, limit_s: float) -> dict:
    """Run one step in its own process; its status, wall time and JSON (None if it failed)."""
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        try:
            code = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT,
                                  timeout=max(limit_s, 1.0)).returncode
            status = "ok" if code == 0 else f"failed (exit {code})"
        except subprocess.TimeoutExpired:
            status = f"out of time ({limit_s:.0f} s)"
    wall = time.perf_counter() - t0
    result = None
    if status == "ok":
        try:
            result = json.loads(json_path.read_text())
        except (OSError, ValueError) as e:
            status = f"failed (no readable JSON: {e})"
    if status != "ok":
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        print(f"{name}: {status}; last lines of {log}:", *tail, sep="\n  ", file=sys.stderr)
    return {"status": status, "wall_s": wall, "command": " ".join(cmd), "result": result}


def _summary(step: dict, name: str) -> dict | None:
    """The figures that answer the issue: for the dam break and for the pour."""
    res = step["result"]
    if res is None:
        return None
    if name == "dam_break":
        ours = res["ours"]
        return {k: ours[k] for k in ("arch", "num_particles", "num_boundary", "steps",
                                     "particle_steps_per_s", "sim_seconds_per_wall_second",
                                     "iterations_per_step", "wall_s", "rms_error")}
    pour = res["pour"]
    return {"arch": res["arch"], "num_particles": res["num_particles"],
            "build_s": res["build_s"], "settle_wall_s": res["settle"]["wall_s"],
            "pour_steps": pour["steps"], "pour_wall_s": pour["wall_s"],
            "wall_s_per_sim_s": pour["wall_s_per_sim_s"],
            "particle_steps_per_s": pour["particle_steps_per_s"],
            "rest_from_s": pour["rest_from_s"], "safety_nets": pour["leak_counts"],
            "windows": [{k: w[k] for k in ("t_start", "t_end", "steps", "wall_s")}
                        for w in res.get("windows", [])]}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="device_check", help="folder for the JSON and the logs")
    ap.add_argument("--arch", default="cuda", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--budget-s", type=float, default=540.0,
                    help="wall seconds for both steps together (default 540: one 10-min call "
                    "with room to spare)")
    ap.add_argument("--dam-share", type=float, default=0.4,
                    help="share of the budget the dam break may take (default 0.4)")
    ap.add_argument("--dam-radius", type=float, default=DAM_RADIUS,
                    help=f"dam-break particle radius, m (default a/158 = {DAM_RADIUS:.3g})")
    ap.add_argument("--pour-duration", type=float, default=None, metavar="S",
                    help="simulate only the pour's first S seconds (default: all 15), e.g. "
                    "in a second call after the whole pour ran out of time")
    ap.add_argument("--only", choices=["dam_break", "pour"], default=None,
                    help="run one step only, with the whole budget")
    ap.add_argument("--smoke", action="store_true",
                    help="toy sizes, any backend: check that the script runs")
    args = ap.parse_args(argv)
    if not 0.0 < args.dam_share < 1.0:
        ap.error("--dam-share must lie between 0 and 1")
    if args.budget_s <= 0.0:
        ap.error("--budget-s must be positive")
    if args.pour_duration is not None and args.pour_duration <= 0.0:
        ap.error("--pour-duration must be positive")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    report = {"arch_requested": args.arch, "smoke": args.smoke, "gpus": _gpu_names(),
              "budget_s": args.budget_s, "steps": {}}
    steps = [st for st in _steps(args, out) if args.only in (None, st[0])]
    for name, cmd, json_path in steps:
        left = args.budget_s - (time.perf_counter() - t0)
        limit = left * args.dam_share if name == "dam_break" and len(steps) > 1 else left
        json_path.unlink(missing_ok=True)  # never report an earlier run's figures
        step = _run_step(name, cmd, json_path, out / f"{name}.log", limit)
        step["summary"] = _summary(step, name)
        report["steps"][name] = step
    report["wall_s"] = time.perf_counter() - t0
    (out / "device_check.json").write_text(json.dumps(report, indent=2))
    _print(report, out)
    failed = [n for n, s in report["steps"].items() if s["status"] != "ok"]
    if failed:
        raise SystemExit(1)
    return report


def _dam_line(s: dict) -> str:
    err = s["rms_error"]
    front = f"{100 * err:.1f} %" if math.isfinite(err) else "n/a (T < 0.8)"
    return (f"dam break on {s['arch']}: {s['num_particles']:,} fluid + "
            f"{s['num_boundary']:,} boundary particles, {s['steps']} steps, "
            f"{s['particle_steps_per_s']:,.0f} particle-steps/s, "
            f"{s['sim_seconds_per_wall_second']:.3g} simulated s per wall s, "
            f"{s['iterations_per_step']:.1f} iterations a step, front error {front}")


def _pour_line(s: dict) -> str:
    rest = f", at rest from t = {s['rest_from_s']:.2f} s" if s["rest_from_s"] else ""
    return (f"pour on {s['arch']}: {s['num_particles']:,} particles, build {s['build_s']:.1f} s, "
            f"settling {s['settle_wall_s']:.1f} s, the pour {s['pour_steps']} steps in "
            f"{s['pour_wall_s']:.1f} s ({s['wall_s_per_sim_s']:.2f} s per simulated s{rest}); "
            f"safety nets {s['safety_nets']}")


def _print(report: dict, out: Path) -> None:
    gpus = "; ".join(report["gpus"]) or "none listed by nvidia-smi"
    print(f"device check ({'smoke, ' if report['smoke'] else ''}arch requested "
          f"{report['arch_requested']}; GPUs: {gpus}), {report['wall_s']:.0f} s:")
    for name, line in (("dam_break", _dam_line), ("pour", _pour_line)):
        if name not in report["steps"]:
            continue
        step = report["steps"][name]
        summary = step["summary"]
        print("  " + (f"{name}: {step['status']}" if summary is None else line(summary)))
    print(f"  figures: {out / 'device_check.json'}")


if __name__ == "__main__":
    main()
