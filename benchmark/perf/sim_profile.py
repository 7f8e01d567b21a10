"""Where a pour's simulation time goes: time per solver stage, steps, dt and what sets it.

Usage::

    python -m pourbench.benchmark.perf.sim_profile sim/scenes/pour_r09.toml --duration 0.5
    python -m pourbench.benchmark.perf.sim_profile --recipe standard --scenario 0 --windows 1

Builds the pour exactly as ``pourbench simulate`` does (scene, relax, settle), then steps the
pour for ``--duration`` simulated seconds with the solver's stage timers on (each stage waits
for the device, so the split is honest but the total is a little slower than an untimed run).
Prints, for settling and for the pour separately: steps, mean dt, solver iterations, wall
seconds per simulated second and each stage's share; and for the pour what bounded dt (the
fastest particle of the bulk, the fastest drop (fewer than 10 fluid neighbours), the container,
the pressure wave of water at rest, the cap or the frame boundary), in how many steps a drop
was the fastest particle, and how many particles move faster than half the fastest one.
``--recipe NAME --scenario K`` profiles scenario K of a dataset recipe (as ``pourbench
generate`` would simulate it) instead of a scenario file; ``--windows W`` also prints, for every
W simulated seconds, the steps, mean dt, iterations, fastest particle and wall seconds per
simulated second (where a long pour spends its time: pouring or at rest). As in ``pourbench
simulate``, stepping stops once the water is at rest for good (``solver.rest_drift``; the time is
printed); ``--no-rest`` steps to the end. ``--json FILE`` saves it all.

``--save-state T FILE`` (repeatable) saves the solver's state at the first frame at or after
simulated time T; ``--from-state FILE`` profiles from such a state (its scenario is in the
file; ``--duration`` then counts from the state's time), with no settling. Two versions of the
solver can so be compared, alternately, on the same seconds of a pour (the stream landing in
the bowl) without simulating what comes before::

    python -m pourbench.benchmark.perf.sim_profile --recipe standard --duration 1.5 \
        --save-state 1.5 stream.npz
    python -m pourbench.benchmark.perf.sim_profile --from-state stream.npz --duration 0.1

``--set NAME=VALUE`` changes a solver setting for the run (on a saved state's scenario too);
``--compare N`` runs N alternating pairs in fresh processes, this solver against the legacy
one or, with ``--against NAME=VALUE``, against the same with that setting changed, and prints
both medians and each pair's ratio. Every run also reports the water at its last frame (ml in
the source, the target and spilled; kinetic energy): what a setting that should only save time
must leave as it was.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np


def _phase(solver, stats0: dict, timers: dict, wall: float, sim_s: float) -> dict:
    st = solver.stats
    steps = st.steps - stats0["steps"]
    it_d = st.density_iterations - stats0["density_iterations"]
    it_v = st.divergence_iterations - stats0["divergence_iterations"]
    total = sum(timers.values()) or 1.0
    return {
        "steps": steps,
        "sim_seconds": sim_s,
        "mean_dt": sim_s / max(steps, 1),
        "mean_density_iterations": it_d / max(steps, 1),
        "mean_divergence_iterations": it_v / max(steps, 1),
        "wall_s": wall,
        "wall_s_per_sim_s": wall / max(sim_s, 1e-12),
        "particle_steps_per_s": solver.n * steps / max(wall, 1e-12),
        "stage_seconds": {k: round(v, 3) for k, v in sorted(timers.items(), key=lambda kv: -kv[1])},
        "stage_share": {k: round(v / total, 3) for k, v in sorted(timers.items(),
                                                                   key=lambda kv: -kv[1])},
    }


def _snapshot(solver) -> dict:
    st = solver.stats
    return {"steps": st.steps, "density_iterations": st.density_iterations,
            "divergence_iterations": st.divergence_iterations}


def load_profile_scenario(scene_file: str | None, recipe: str | None = None,
                          scenario: int = 0):
    """The scenario to profile: a scenario TOML file, or scenario ``scenario`` of a recipe."""
    from pourbench.core.errors import PourbenchError
    from pourbench.sim.scenario import load_scenario

    if (scene_file is None) == (recipe is None):
        raise PourbenchError("give a scenario file or --recipe NAME (not both)")
    if scene_file is not None:
        return load_scenario(scene_file)
    from pourbench.datasets.recipe import load_recipe
    from pourbench.datasets.sampler import sample_scenario

    rec = load_recipe(recipe)
    if not 0 <= scenario < rec.dataset.scenarios:
        raise PourbenchError(f"--scenario {scenario} is outside 0..{rec.dataset.scenarios - 1} "
                             f"of recipe {recipe!r}")
    return sample_scenario(rec, scenario)


def _with_solver_settings(sc, settings: dict):
    """``sc`` with some solver settings changed; one-line PourbenchError for a bad one."""
    from pourbench.core.errors import PourbenchError
    from pourbench.sim.scenario import validate_scenario

    known = set(type(sc.solver).model_fields)
    for key in settings:
        if key not in known:
            raise PourbenchError(f"--set {key}: not a solver setting (known: "
                                 f"{', '.join(sorted(known))})")
    data = sc.model_dump()
    data["solver"].update(settings)
    return validate_scenario(data, "--set")


def _window_row(solver, start: dict, t0: float, t1: float, wall: float, vmaxes) -> dict:
    st = solver.stats
    steps = max(st.steps - start["steps"], 1)
    return {
        "t_start": t0, "t_end": t1, "steps": st.steps - start["steps"],
        "mean_dt": (t1 - t0) / steps,
        "density_iterations": (st.density_iterations - start["density_iterations"]) / steps,
        "divergence_iterations": (st.divergence_iterations
                                  - start["divergence_iterations"]) / steps,
        "wall_s": wall, "wall_s_per_sim_s": wall / max(t1 - t0, 1e-12),
        "vmax_median": float(np.median(vmaxes)) if len(vmaxes) else 0.0,
    }


def profile_pour(scene_file: str | None, duration: float | None, threads: int | None = None,
                 arch: str = "cpu", fps: float | None = None, legacy: bool = False,
                 recipe: str | None = None, scenario: int = 0,
                 window: float | None = None, rest: bool = True,
                 save_states: list | None = None, from_state: str | None = None,
                 solver_settings: dict | None = None) -> dict:
    """Profile one pour; ``legacy`` re-creates the solver before issue 12 (undamped settling,
    one cell-table slot per grid cell) for a side-by-side comparison; ``window`` (s) adds a
    row of figures per window of simulated time (``windows``); ``rest`` stops stepping once
    the water is at rest for good, as ``simulate_pour`` does. ``save_states``: (time, file)
    pairs, the solver's state saved at the first frame at or after each time;
    ``from_state``: a file of such a state to start from (no settling; ``duration`` counts
    from its time); ``solver_settings``: the scenario's solver settings to change (name ->
    value, as a scenario file's ``[solver]`` table takes them)."""
    import pourbench.sim.grid as grid_mod
    from pourbench.core.errors import PourbenchError
    from pourbench.sim.backend import init_taichi
    from pourbench.sim.pour import SETTLE_DAMPING, build_scene, make_solver, rest_detector, settle
    from pourbench.sim.scenario import validate_scenario
    from pourbench.sim.solver import FEW_NEIGHBOURS
    from pourbench.sim.state_file import load_pour_state, save_pour_state

    state, t_begin = None, 0.0
    if from_state is not None:
        if scene_file is not None or recipe is not None:
            raise PourbenchError("--from-state carries its scenario: give no scenario file or "
                                 "--recipe with it")
        sc, state = load_pour_state(from_state)
        t_begin = float(state["time"])
        if fps is not None and fps != sc.fps:
            raise PourbenchError(f"--fps {fps:g} differs from the saved pour's {sc.fps:g}")
    else:
        sc = load_profile_scenario(scene_file, recipe, scenario)
        upd = {}
        if duration is not None:
            upd["duration_s"] = duration
        if fps is not None:
            upd["fps"] = fps
        if upd:
            sc = validate_scenario({**sc.model_dump(), **upd}, "--duration / --fps")
    if solver_settings:
        sc = _with_solver_settings(sc, solver_settings)
    end_s = t_begin + duration if (state is not None and duration is not None) else sc.duration_s
    first_frame = math.ceil(t_begin * sc.fps - 1e-6)
    num_frames = int(math.floor(end_s * sc.fps + 1e-9)) + 1
    if num_frames - first_frame < 2:
        raise PourbenchError(f"--duration {end_s - t_begin:g} s is shorter than one frame "
                             f"(1/{sc.fps:g} s): no step to profile")
    pending = sorted((float(t), str(f)) for t, f in (save_states or []))
    for t, f in pending:
        if not t_begin <= t <= end_s + 1e-9:
            raise PourbenchError(f"--save-state {t:g} {f}: the time is outside the profiled "
                                 f"{t_begin:g}-{end_s:g} s")
    arch_used = init_taichi(arch, threads)
    t0 = time.perf_counter()
    scene = build_scene(sc)
    if state is not None:
        scene.fluid = state["x"]  # the saved pour's particles (only their count matters here)
    bucket_count = grid_mod.bucket_count
    if legacy:
        grid_mod.bucket_count = lambda dims, n: int(np.prod([int(d) for d in dims]))
    try:
        solver = make_solver(sc, scene)
    finally:
        grid_mod.bucket_count = bucket_count
    if state is not None:
        try:
            solver.load_state(state)
        except ValueError as e:
            raise PourbenchError(f"{from_state}: {e}") from None
    build_s = time.perf_counter() - t0
    name = scene_file or f"recipe {recipe}, scenario {scenario}"
    if state is not None:
        name = f"{from_state} (from t = {t_begin:g} s)"
    out = {"scene": name, "legacy": legacy, "arch": arch_used, "from_state_s": t_begin,
           "cell_table_slots": solver.grid.num_buckets, "grid_cells": solver.grid.num_cells,
           "num_particles": solver.n,
           "num_boundary": solver.bodies.num, "particle_radius": sc.particle_radius,
           "duration_s": sc.duration_s, "build_s": build_s}

    # settling, as in simulate_pour (none from a saved state)
    out["settle"] = None
    if state is None:
        solver.timers = {}
        t0 = time.perf_counter()
        # relax (its steps are not counted: the stats restart after it), then settle
        settle(solver, sc.solver.settle_s, 0.0 if legacy else SETTLE_DAMPING)
        out["settle"] = _phase(solver, {"steps": 0, "density_iterations": 0,
                                        "divergence_iterations": 0}, solver.timers,
                               time.perf_counter() - t0, sc.solver.settle_s)

    # the pour, frame by frame
    s0 = _snapshot(solver)
    solver.timers = {}
    solver._lap_t = time.perf_counter()  # a first frame read back before any step
    # what bounded each step (the solver's ``dt_limited_by``): the bulk fluid's, the drops' or
    # the container's speed, the pressure wave of water at rest, the cap; or the frame boundary
    limits = {"fluid": 0, "drop": 0, "container": 0, "pressure": 0, "max_dt": 0, "frame": 0}
    drop_fastest = 0  # steps whose fastest particle was a drop (few fluid neighbours)
    fast_counts, vmaxes, dts = [], [], []
    windows, win_start, win_first = [], _snapshot(solver), 0
    win_t, win_wall = t_begin, time.perf_counter()
    detector = rest_detector(sc)
    at_rest = False
    saving_s = 0.0  # spent writing --save-state files: not the solver's time
    t0 = time.perf_counter()
    for f in range(first_frame, num_frames):
        t_frame = f / sc.fps
        while solver.time < t_frame - 1e-7:
            dt_cap = t_frame - solver.time
            dt = solver.step(dt_cap=dt_cap)
            vf = float(solver.max_speed[None])
            bound = solver.dt_bound  # the solver's CFL bound and which one set it
            if math.ceil(dt_cap / bound - 1e-6) == 1 and dt < 0.999 * bound:
                limits["frame"] += 1  # the last sliver before a frame
            else:
                limits[solver.dt_limited_by] += 1
            drop_fastest += int(float(solver.max_drop_speed[None])
                                > float(solver.max_bulk_speed[None]))
            dts.append(dt)
            vmaxes.append(vf)
            if solver.stats.steps % 25 == 0:
                sp = np.linalg.norm(solver.v.to_numpy(), axis=1)
                fast_counts.append([int((sp > 0.5 * sp.max()).sum()),
                                    float(np.percentile(sp, 99)), float(np.percentile(sp, 99.9)),
                                    float(sp.max())])
        pos = solver.positions()  # what the track writer reads back each frame
        solver._lap("frame_readback")
        while pending and pending[0][0] <= t_frame + 1e-9:
            t_save = time.perf_counter()
            print(f"solver state at t = {t_frame:g} s saved to "
                  f"{save_pour_state(pending.pop(0)[1], solver, sc)}", file=sys.stderr)
            paused = time.perf_counter() - t_save
            saving_s += paused
            win_wall += paused
        at_rest = rest and detector.update(t_frame, pos)
        if window and (solver.time >= win_t + window - 1e-7 or f == num_frames - 1
                       or at_rest) and solver.time > win_t:
            now = time.perf_counter()
            windows.append(_window_row(solver, win_start, win_t, solver.time, now - win_wall,
                                       vmaxes[win_first:]))
            win_start, win_t, win_wall, win_first = _snapshot(solver), solver.time, now, len(vmaxes)
        if at_rest:
            break
    for t, f in pending:  # the water came to rest first: nothing stepped to save
        print(f"--save-state {t:g} {f}: not saved, the water is at rest from t = "
              f"{detector.rest_from_s:g} s (add --no-rest)", file=sys.stderr)
    wall = time.perf_counter() - t0 - saving_s
    pour = _phase(solver, s0, solver.timers, wall, solver.time - t_begin)
    dts_a = np.asarray(dts)
    fc = np.asarray(fast_counts) if fast_counts else np.zeros((1, 4))
    pour.update(
        dt_limited_by=limits,
        steps_a_drop_was_fastest=drop_fastest,
        drop_fluid_neighbours_below=FEW_NEIGHBOURS,
        dt_percentiles_ms={str(q): float(np.percentile(dts_a, q) * 1e3) for q in (5, 50, 95)},
        fluid_vmax_median=float(np.median(vmaxes)),
        particles_above_half_vmax_median=float(np.median(fc[:, 0])),
        speed_p99_median=float(np.median(fc[:, 1])),
        speed_p999_median=float(np.median(fc[:, 2])),
        leak_counts=solver.leak_counts(),
        end=_water_at(pos, solver.v.to_numpy(), t_frame, scene, sc),
        rest_from_s=detector.rest_from_s,
        duration_s=end_s - t_begin,
        wall_s_per_pour_s=wall / (end_s - t_begin),
    )
    out["pour"] = pour
    if window:
        out["windows"] = windows
    solver.timers = None
    return out


def _water_at(pos, vel, t: float, scene, sc) -> dict:
    """Where the water is at the last frame and how fast it moves: what a setting that only
    ought to change the speed (``--against cfl=0.6``) must leave as it was."""
    from pourbench.sim.pour import count_volumes, particle_volume_ml

    source, target, spilled = count_volumes(pos, scene, scene.source_pose(t),
                                            particle_volume_ml(sc.particle_radius))
    return {"t": t, "source_ml": float(source), "target_ml": float(target),
            "spilled_ml": float(spilled),
            "kinetic_energy_mj_per_kg": float(500.0 * np.mean(np.sum(vel * vel, axis=1)))}


def _end_line(e: dict) -> str:
    return (f"at t = {e['t']:g} s: source {e['source_ml']:.1f} ml, target {e['target_ml']:.1f} "
            f"ml, spilled {e['spilled_ml']:.1f} ml; kinetic energy "
            f"{e['kinetic_energy_mj_per_kg']:.3g} mJ/kg")


def _print(res: dict) -> None:
    print(f"{res['scene']}{' (legacy solver)' if res['legacy'] else ''}: "
          f"{res['num_particles']} fluid, {res['num_boundary']} boundary particles, "
          f"r = {res['particle_radius']} m, {res['arch']}, {res['grid_cells']:,} grid cells in "
          f"{res['cell_table_slots']:,} table slots")
    for phase in ("settle", "pour"):
        p = res[phase]
        if p is None:  # no settling from a saved state
            continue
        print(f"  {phase}: {p['steps']} steps over {p['sim_seconds']:.3g} s, mean dt "
              f"{1e3 * p['mean_dt']:.3f} ms, iterations/step {p['mean_density_iterations']:.1f} "
              f"density + {p['mean_divergence_iterations']:.1f} divergence, "
              f"{p['wall_s']:.1f} s wall = {p['wall_s_per_sim_s']:.0f} s per simulated s, "
              f"{p['particle_steps_per_s']:,.0f} particle-steps/s")
        print("    " + ", ".join(f"{k} {100 * v:.0f} %" for k, v in p["stage_share"].items()))
    p = res["pour"]
    q = ", ".join(f"p{k} {v:.3f}" for k, v in p["dt_percentiles_ms"].items())
    print(f"  dt bound by: {p['dt_limited_by']}; dt (ms) {q}")
    print(f"  a drop (fewer than {p['drop_fluid_neighbours_below']} fluid neighbours) was the "
          f"fastest particle in {p['steps_a_drop_was_fastest']} steps")
    print(f"  fastest fluid particle (median over steps) {p['fluid_vmax_median']:.2f} m/s; "
          f"speed p99 {p['speed_p99_median']:.2f}, p99.9 {p['speed_p999_median']:.2f} m/s; "
          f"particles above half the fastest: {p['particles_above_half_vmax_median']:.0f}")
    print(f"  safety nets: {p['leak_counts']}")
    print(f"  the water {_end_line(p['end'])}")
    if p["rest_from_s"] is not None:
        end = res["from_state_s"] + p["duration_s"]
        print(f"  water at rest from t = {p['rest_from_s']:.2f} s: the remaining "
              f"{end - p['rest_from_s']:.2f} s repeat that frame (not stepped); the "
              f"whole {p['duration_s']:g} s took {p['wall_s']:.1f} s wall = "
              f"{p['wall_s_per_pour_s']:.0f} s per simulated s")
    if res.get("windows"):
        print("  simulated s    steps  dt ms  iterations  fastest m/s  wall s  per sim s")
        for w in res["windows"]:
            print(f"  {w['t_start']:5.2f}-{w['t_end']:5.2f} {w['steps']:7d} "
                  f"{1e3 * w['mean_dt']:6.3f} {w['density_iterations']:5.1f} + "
                  f"{w['divergence_iterations']:3.1f} {w['vmax_median']:12.2f} "
                  f"{w['wall_s']:7.1f} {w['wall_s_per_sim_s']:10.1f}")


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scene", nargs="?", default=None,
                    help="scenario TOML (e.g. sim/scenes/pour_r09.toml); or use --recipe")
    ap.add_argument("--recipe", default=None,
                    help="profile a scenario of this dataset recipe (name or TOML) instead")
    ap.add_argument("--scenario", type=int, default=0, help="scenario index in --recipe")
    ap.add_argument("--windows", type=float, default=None, metavar="W",
                    help="also report every W simulated seconds (steps, dt, iterations, wall)")
    ap.add_argument("--duration", type=float, default=None, help="simulated pour seconds")
    ap.add_argument("--fps", type=float, default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--arch", default="cpu", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--no-rest", action="store_true",
                    help="step to the end even once the water is at rest")
    ap.add_argument("--legacy", action="store_true",
                    help="the solver as before issue 12 (undamped settling, full cell table)")
    ap.add_argument("--compare", type=int, default=0, metavar="N",
                    help="run N alternating pairs (this solver, legacy; or see --against) in "
                    "fresh processes and print the medians side by side")
    ap.add_argument("--against", action="append", default=None, metavar="NAME=VALUE",
                    help="with --compare: the second of each pair changes this solver setting "
                    "(repeatable) instead of being the legacy solver")
    ap.add_argument("--save-state", nargs=2, action="append", default=None,
                    metavar=("T", "FILE"), help="save the solver's state at the first frame at "
                    "or after T simulated seconds to FILE (.npz; repeatable)")
    ap.add_argument("--from-state", default=None, metavar="FILE",
                    help="profile from a state saved by --save-state (no scenario argument, no "
                    "settling; --duration counts from its time)")
    ap.add_argument("--set", action="append", default=None, metavar="NAME=VALUE",
                    help="change a solver setting for this run (e.g. drop_cfl=1.0; repeatable), "
                    "also on a saved state's scenario: compare settings on the same seconds")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    overrides = {}
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            ap.error(f"--set {item}: expected NAME=VALUE, e.g. drop_cfl=1.0")
        try:
            overrides[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key.strip()] = value  # a word, e.g. viscosity=standard
    saves = []
    for t, f in args.save_state or []:
        try:
            saves.append((float(t), f))
        except ValueError:
            ap.error(f"--save-state {t} {f}: {t!r} is not a time in seconds")
    from pourbench.core.errors import PourbenchError

    if args.against and not args.compare:
        ap.error("--against needs --compare N")
    if args.save_state and args.compare:
        ap.error("--save-state runs once: not with --compare")
    if args.compare:
        try:
            return _compare(args)
        except PourbenchError as e:
            print(f"sim_profile: {e}", file=sys.stderr)
            raise SystemExit(2) from None

    try:
        res = profile_pour(args.scene, args.duration, args.threads, args.arch, args.fps,
                           args.legacy, args.recipe, args.scenario, args.windows,
                           not args.no_rest, saves, args.from_state, overrides)
    except PourbenchError as e:
        print(f"sim_profile: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    res["loadavg"] = _loadavg()
    _print(res)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=2)
    return res


def _loadavg():
    try:
        return [float(v) for v in open("/proc/loadavg").read().split()[:3]]
    except OSError:
        return None


def _compare(args) -> dict:
    """Alternate two variants, each run in its own process (Taichi fields are never freed
    within one): this solver against the legacy one, or, with ``--against``, the settings as
    given against the same with those settings changed. Reports both medians, their ratio
    and the ratio of each pair."""
    import statistics
    import subprocess
    import tempfile

    from pourbench.core.errors import PourbenchError

    if args.against:
        labels = ("as given", "with " + ", ".join(args.against))
        extra = {labels[0]: [], labels[1]: [a for item in args.against for a in ("--set", item)]}
    else:
        labels = ("new", "legacy")
        extra = {"new": [], "legacy": ["--legacy"]}
    runs = {name: [] for name in labels}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.compare):
            for i, name in enumerate(labels if k % 2 == 0 else labels[::-1]):
                out = f"{tmp}/{k}_{i}.json"
                cmd = [sys.executable, "-m", "pourbench.benchmark.perf.sim_profile",
                       "--arch", args.arch, "--json", out]
                if args.from_state:
                    cmd += ["--from-state", args.from_state]
                else:
                    cmd += [args.scene] if args.scene else ["--recipe", args.recipe,
                                                            "--scenario", str(args.scenario)]
                for flag, val in (("--duration", args.duration), ("--fps", args.fps),
                                  ("--threads", args.threads)):
                    if val is not None:
                        cmd += [flag, str(val)]
                if args.no_rest:
                    cmd.append("--no-rest")
                for item in args.set or []:
                    cmd += ["--set", item]
                done = subprocess.run(cmd + extra[name], stdout=subprocess.DEVNULL)
                if done.returncode != 0:
                    raise PourbenchError(f"the {name!r} run {k + 1} failed (exit "
                                         f"{done.returncode}): {' '.join(cmd + extra[name])}")
                with open(out) as fh:
                    runs[name].append(json.load(fh))
    keys = ("steps", "mean_dt", "wall_s", "wall_s_per_sim_s", "particle_steps_per_s",
            "mean_density_iterations", "mean_divergence_iterations")
    phases = ("pour",) if args.from_state else ("settle", "pour")
    med = {name: {phase: {k: statistics.median(r[phase][k] for r in rs) for k in keys}
                  for phase in phases} for name, rs in runs.items()}
    a, b = labels
    summary = {
        "a": a, "b": b, "medians": med, "runs": runs,
        # > 1: b takes longer per simulated second than a
        "ratio_wall_s_per_sim_s_b_over_a": {
            p: med[b][p]["wall_s_per_sim_s"] / med[a][p]["wall_s_per_sim_s"] for p in phases},
        "pair_ratios_b_over_a": {
            p: [rb[p]["wall_s_per_sim_s"] / ra[p]["wall_s_per_sim_s"]
                for ra, rb in zip(runs[a], runs[b], strict=True)] for p in phases},
    }
    print(f"medians of {args.compare} alternating pairs:")
    for p in phases:
        for name in labels:
            m = med[name][p]
            print(f"  {p:<6} {name}: steps {m['steps']:.0f}  mean dt {1e3 * m['mean_dt']:.3f} ms"
                  f"  iterations {m['mean_density_iterations']:.1f} + "
                  f"{m['mean_divergence_iterations']:.1f}  {m['wall_s_per_sim_s']:.1f} solver s "
                  f"per simulated s  {m['particle_steps_per_s']:,.0f} particle-steps/s")
        for name in labels if p == "pour" else ():  # every run of a variant: the same steps
            print(f"  {p:<6} {name}: the water {_end_line(runs[name][0][p]['end'])}")
        pairs = ", ".join(f"{x:.2f}x" for x in summary["pair_ratios_b_over_a"][p])
        print(f"  {p}: {b} / {a} solver seconds per simulated second "
              f"{summary['ratio_wall_s_per_sim_s_b_over_a'][p]:.2f}x (pairs {pairs})")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(summary, fh, indent=2)
    return summary


if __name__ == "__main__":
    main()
