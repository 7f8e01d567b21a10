"""Merge scored results into a leaderboard: Markdown, a static HTML page and JSON.

Rows are model + modality; columns are detection and tracking F1, IoU and AP (all pixels of
the split by default), parameter count and date. Several results with the same model,
modality and task (e.g. three training seeds) are shown as mean ± sample standard deviation
(ddof 1) over the runs. The best value of each column (as displayed) is bold.

Results are only merged when they are comparable: every result of one task must have been
scored on the same ground-truth files, and one predictions file may not count twice.
"""

from __future__ import annotations

import html
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pourbench.benchmark.score import RESULTS_FORMAT
from pourbench.core.atomic import write_text_atomic
from pourbench.core.errors import PourbenchError

log = logging.getLogger(__name__)

TASKS = ("detection", "tracking")
TASK_LABELS = {"detection": "Detection", "tracking": "Tracking"}
COLUMNS = ("f1", "iou", "ap")
COLUMN_LABELS = {"f1": "F1", "iou": "IoU", "ap": "AP"}
AGGREGATIONS = ("all_pixels", "sequence_mean")
DIGITS = 3


@dataclass(frozen=True)
class Run:
    """One results.json, reduced to what the leaderboard shows."""

    path: Path
    model: str
    modality: str
    task: str
    metrics: dict[str, float]
    num_parameters: int | None
    date: str
    predictions_sha256: str
    gt_files_sha256: str


@dataclass(frozen=True)
class Cell:
    """Mean and spread of one metric over the runs of one model, modality and task."""

    mean: float
    std: float | None  # None for a single run
    n: int

    def text(self) -> str:
        if self.std is None:
            return f"{self.mean:.{DIGITS}f}"
        return f"{self.mean:.{DIGITS}f} ± {self.std:.{DIGITS}f}"


@dataclass
class Row:
    model: str
    modality: str
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)  # (task, metric)
    runs: dict[str, int] = field(default_factory=dict)  # task -> number of runs
    num_parameters: list[int] = field(default_factory=list)
    date: str = ""


def load_run(path: str | os.PathLike, aggregation: str = "all_pixels") -> Run:
    """Read one ``results.json`` written by ``pourbench.benchmark.score``.

    Raises:
        PourbenchError: unreadable, not a results file, or a results format we do not know.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PourbenchError(f"{path}: cannot read results ({e})") from e
    if not isinstance(doc, dict) or doc.get("format") != RESULTS_FORMAT:
        got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise PourbenchError(
            f"{path}: not a results.json of format {RESULTS_FORMAT} (format {got!r})"
        )
    try:
        task = doc["task"]
        if task not in TASKS:
            raise PourbenchError(f"{path}: task {task!r}, expected one of {', '.join(TASKS)}")
        metrics = {k: float(doc[aggregation][k]) for k in COLUMNS}
        model = doc.get("model") or Path(doc["predictions"]["path"]).stem
        run = Run(
            path=path,
            model=model,
            modality=doc.get("modality") or "-",
            task=task,
            metrics=metrics,
            num_parameters=doc.get("num_parameters"),
            date=str(doc["date"])[:10],
            predictions_sha256=doc["predictions"]["sha256"],
            gt_files_sha256=doc["ground_truth"]["files_sha256"],
        )
    except (KeyError, TypeError, ValueError) as e:
        raise PourbenchError(f"{path}: malformed results, missing or bad {e}") from e
    if not doc.get("model"):
        log.warning("%s: no model name recorded; using %r", path, model)
    return run


def _check_comparable(runs: Sequence[Run]) -> None:
    problems = []
    for task in TASKS:
        splits = {r.gt_files_sha256 for r in runs if r.task == task}
        if len(splits) > 1:
            files = ", ".join(str(r.path) for r in runs if r.task == task)
            problems.append(
                f"{task} results were scored on {len(splits)} different ground-truth splits: "
                f"{files}"
            )
    seen: dict[tuple[str, str], Path] = {}
    for r in runs:
        key = (r.task, r.predictions_sha256)
        if key in seen:
            problems.append(f"{r.path}: same predictions as {seen[key]} (counted once only)")
        seen.setdefault(key, r.path)
    if problems:
        raise PourbenchError("\n".join(problems))


def _rows(runs: Sequence[Run]) -> list[Row]:
    rows: dict[tuple[str, str], Row] = {}
    for r in runs:
        row = rows.setdefault((r.model, r.modality), Row(r.model, r.modality))
        if r.num_parameters is not None and r.num_parameters not in row.num_parameters:
            row.num_parameters.append(r.num_parameters)
        row.date = max(row.date, r.date)
    for (model, modality), row in rows.items():
        for task in TASKS:
            group = [r for r in runs if (r.model, r.modality, r.task) == (model, modality, task)]
            if not group:
                continue
            row.runs[task] = len(group)
            for metric in COLUMNS:
                values = np.array([r.metrics[metric] for r in group])
                std = float(values.std(ddof=1)) if len(values) > 1 else None
                row.cells[(task, metric)] = Cell(float(values.mean()), std, len(values))

    def rank(row: Row) -> tuple:
        keys = [(t, "f1") for t in TASKS]
        return tuple(-row.cells[k].mean if k in row.cells else 1.0 for k in keys) + (
            row.model,
            row.modality,
        )

    return sorted(rows.values(), key=rank)


def format_parameters(counts: Sequence[int]) -> str:
    """Parameter count(s) in a short human form: 950, 12.3 k, 1.25 M."""

    def one(n: int) -> str:
        if n >= 1_000_000:
            return f"{n / 1e6:.2f} M"
        if n >= 1_000:
            return f"{n / 1e3:.1f} k"
        return str(n)

    if not counts:
        return "–"
    return " / ".join(one(n) for n in sorted(counts))


@dataclass
class Leaderboard:
    """The merged table; ``to_markdown`` and ``to_html`` render it."""

    rows: list[Row]
    aggregation: str
    sources: list[Path]

    def best(self) -> dict[tuple[str, str], str]:
        """Best displayed value per column (higher is better for every metric)."""
        best = {}
        for task in TASKS:
            for metric in COLUMNS:
                means = [r.cells[(task, metric)].mean for r in self.rows
                         if (task, metric) in r.cells]
                if means:
                    best[(task, metric)] = f"{max(means):.{DIGITS}f}"
        return best

    def header(self) -> list[str]:
        metric_cols = [f"{TASK_LABELS[t]} {COLUMN_LABELS[m]}" for t in TASKS for m in COLUMNS]
        return ["Model", "Modality", *metric_cols, "Parameters", "Runs (det/trk)", "Date"]

    def table(self) -> list[list[tuple[str, bool]]]:
        """Cells as (text, bold) per row, in header order."""
        best = self.best()
        out = []
        for r in self.rows:
            cells = [(r.model, False), (r.modality, False)]
            for task in TASKS:
                for metric in COLUMNS:
                    c = r.cells.get((task, metric))
                    if c is None:
                        cells.append(("–", False))
                    else:
                        cells.append((c.text(), f"{c.mean:.{DIGITS}f}" == best[(task, metric)]))
            runs = "/".join(str(r.runs.get(t, 0)) for t in TASKS)
            cells += [(format_parameters(r.num_parameters), False), (runs, False), (r.date, False)]
            out.append(cells)
        return out

    def note(self) -> str:
        where = "over all pixels of the test split" if self.aggregation == "all_pixels" else (
            "as the mean of per-sequence values")
        return (
            f"Metrics {where}; F1 and IoU at threshold 0.5, AP = area under the PR curve. "
            "Several runs: mean ± sample standard deviation. Best per column in bold."
        )

    def to_markdown(self) -> str:
        def esc(s: str) -> str:
            return s.replace("|", "\\|")

        head = self.header()
        lines = [
            "| " + " | ".join(head) + " |",
            "|" + "|".join(["---", "---"] + ["---:"] * (len(head) - 3) + ["---"]) + "|",
        ]
        for row in self.table():
            lines.append("| " + " | ".join(
                f"**{esc(t)}**" if bold else esc(t) for t, bold in row) + " |")
        return "\n".join(lines) + f"\n\n{self.note()}\n"

    def to_html(self) -> str:
        e = html.escape
        head = "".join(f"<th>{e(h)}</th>" for h in self.header())
        body = "\n".join(
            "<tr>" + "".join(
                f"<td><b>{e(t)}</b></td>" if bold else f"<td>{e(t)}</td>" for t, bold in row
            ) + "</tr>"
            for row in self.table()
        )
        return _HTML.format(head=head, body=body, note=e(self.note()))

    def to_json(self) -> dict[str, Any]:
        return {
            "aggregation": self.aggregation,
            "sources": [str(p) for p in self.sources],
            "rows": [
                {
                    "model": r.model,
                    "modality": r.modality,
                    "num_parameters": r.num_parameters,
                    "date": r.date,
                    "runs": r.runs,
                    "metrics": {
                        f"{t}_{m}": {"mean": c.mean, "std": c.std, "n": c.n}
                        for (t, m), c in r.cells.items()
                    },
                }
                for r in self.rows
            ],
        }


_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>pourbench leaderboard</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }}
th, td {{ padding: 0.35em 0.8em; border-bottom: 1px solid #ddd; }}
th {{ background: #f3f3f3; text-align: left; }}
td {{ text-align: right; font-variant-numeric: tabular-nums; }}
td:nth-child(-n+2) {{ text-align: left; }}
tr:hover td {{ background: #fafafa; }}
b {{ color: #0a5; }}
p.note {{ color: #666; font-size: 0.9em; }}
</style>
</head>
<body>
<h1>pourbench leaderboard</h1>
<table>
<thead><tr>{head}</tr></thead>
<tbody>
{body}
</tbody>
</table>
<p class="note">{note}</p>
</body>
</html>
"""


def build_leaderboard(
    results_json_paths: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    aggregation: str = "all_pixels",
) -> Leaderboard:
    """Merge results files and write leaderboard.md, leaderboard.html and leaderboard.json.

    Args:
        results_json_paths: ``results.json`` files (or folders holding one) from
            ``pourbench score``.
        out_dir: output folder (created if missing).
        aggregation: ``all_pixels`` (pooled) or ``sequence_mean``.

    Raises:
        PourbenchError: no results, unreadable ones, or results that are not comparable.
    """
    if aggregation not in AGGREGATIONS:
        raise PourbenchError(
            f"unknown aggregation {aggregation!r}; allowed: {', '.join(AGGREGATIONS)}"
        )
    paths = [Path(p) / "results.json" if Path(p).is_dir() else Path(p)
             for p in results_json_paths]
    if not paths:
        raise PourbenchError("no results given to the leaderboard")
    runs = [load_run(p, aggregation) for p in paths]
    _check_comparable(runs)
    board = Leaderboard(_rows(runs), aggregation, paths)
    out = Path(out_dir)
    write_text_atomic(out / "leaderboard.md", board.to_markdown())
    write_text_atomic(out / "leaderboard.html", board.to_html())
    write_text_atomic(out / "leaderboard.json", json.dumps(board.to_json(), indent=2) + "\n")
    log.info("leaderboard of %d runs, %d rows in %s", len(runs), len(board.rows), out)
    return board


def leaderboard_command(
    results: Sequence[str | os.PathLike], out: str | os.PathLike, aggregation: str = "all_pixels"
) -> Leaderboard:
    """The ``pourbench leaderboard`` verb; the CLI prints ``board.to_markdown()``."""
    return build_leaderboard(results, out, aggregation)
