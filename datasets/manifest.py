"""The dataset-folder manifest: recipe, seed and one entry per sequence (split, size, checksum).

``DIR/manifest.json`` is rewritten atomically after every finished sequence, so it always
describes exactly the complete files on disk; a failed scenario is listed with its reason.
Each sequence carries its label coverage (``pourbench.core.coverage``) as the generator measured
it; a scenario whose labels broke the invariant is a failure listing the rejected sequences.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pourbench import __version__
from pourbench.core.atomic import write_text_atomic
from pourbench.core.coverage import SequenceCoverage
from pourbench.core.errors import PourbenchError
from pourbench.core.schema import SCHEMA_VERSION

MANIFEST_NAME = "manifest.json"


@dataclass
class SequenceEntry:
    name: str  # e.g. "seq_000012"
    split: str  # train | val | test
    path: str  # relative to the dataset folder
    scenario_index: int
    variant_index: int
    sim_id: str
    seed: int
    size_bytes: int
    sha256: str
    params: dict[str, Any] = field(default_factory=dict)
    # SequenceCoverage.as_dict() of the sequence's labels; None in manifests written before
    label_coverage: dict[str, Any] | None = None


@dataclass
class Failure:
    scenario_index: int
    reason: str
    attempts: int
    # sequences rendered but rejected because their labels broke the invariant:
    # {"name", "split", "path" (under rejected/), "label_coverage"}
    rejected: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Manifest:
    recipe: dict[str, Any]
    seed: int
    sequences: list[SequenceEntry] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION
    pourbench_version: str = __version__

    def label_coverage(self) -> tuple[SequenceCoverage, int]:
        """Recorded label coverage summed over the sequences, and how many record none."""
        total, missing = SequenceCoverage(), 0
        for entry in self.sequences:
            if entry.label_coverage is None:
                missing += 1
                continue
            for key in ("in_view", "covered", "frames", "empty_frames"):
                setattr(total, key, getattr(total, key) + int(entry.label_coverage[key]))
        return total, missing

    def to_json(self) -> str:
        data = asdict(self)
        data["sequences"] = sorted(data["sequences"], key=lambda e: e["name"])
        data["failures"] = sorted(data["failures"], key=lambda f: f["scenario_index"])
        return json.dumps(data, indent=1, sort_keys=True)

    def save(self, folder: str | Path) -> None:
        write_text_atomic(Path(folder) / MANIFEST_NAME, self.to_json())

    @classmethod
    def load(cls, folder: str | Path) -> Manifest:
        path = Path(folder) / MANIFEST_NAME
        try:
            data = json.loads(path.read_text())
            return cls(
                recipe=data["recipe"],
                seed=int(data["seed"]),
                sequences=[SequenceEntry(**e) for e in data["sequences"]],
                failures=[Failure(**f) for f in data.get("failures", [])],
                schema_version=int(data["schema_version"]),
                pourbench_version=str(data["pourbench_version"]),
            )
        except FileNotFoundError as e:
            raise PourbenchError(f"{path}: no manifest (is this a pourbench dataset?)") from e
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise PourbenchError(f"{path}: corrupt manifest ({type(e).__name__}: {e})") from e
