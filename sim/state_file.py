"""A pour's solver state at one instant, saved to a file: profile or compare two versions of
the solver from the middle of a pour (the stream landing in the bowl at t = 1.5 s) without
simulating the seconds before it each time.

The file (NumPy ``.npz``) holds the solver's ``state()`` arrays, its scalars and the scenario
as JSON, so that loading needs nothing else. It is written atomically.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from pourbench.core.atomic import atomic_path
from pourbench.core.errors import PourbenchError

FORMAT = "pourbench-solver-state/1"


def save_pour_state(path: str | Path, solver, scenario) -> Path:
    """Write ``solver.state()`` and ``scenario`` to ``path`` (.npz); returns the path."""
    state = solver.state()
    arrays = {k: state[k] for k in solver.STATE_ARRAYS}
    meta = {"format": FORMAT, "scenario": scenario.model_dump(mode="json"),
            "scalars": {k: state[k] for k in solver.STATE_SCALARS}}
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:  # a file object: savez adds no suffix
            np.savez(fh, meta=np.array(json.dumps(meta)), **arrays)
    return path


def load_pour_state(path: str | Path):
    """(scenario, state) from a file of ``save_pour_state``; one-line PourbenchError if the
    file is missing, not such a file, or of a scenario this version cannot read."""
    from pourbench.sim.scenario import validate_scenario

    path = Path(path)
    if not path.is_file():
        raise PourbenchError(f"{path}: no such solver state file")
    if not zipfile.is_zipfile(path):
        raise PourbenchError(f"{path}: not a readable solver state file (not an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            found = meta.get("format") if isinstance(meta, dict) else None
            if found != FORMAT:
                raise PourbenchError(f"{path}: not a solver state file (format {found!r}, "
                                     f"expected {FORMAT!r})")
            state = {k: z[k] for k in z.files if k != "meta"}
            state.update(meta["scalars"])
            scenario_data = meta["scenario"]
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as e:  # JSON's too
        raise PourbenchError(f"{path}: not a readable solver state file ({e!r})") from None
    scenario = validate_scenario(scenario_data, f"{path}: its scenario does not fit this version")
    return scenario, state


__all__ = ["save_pour_state", "load_pour_state"]
