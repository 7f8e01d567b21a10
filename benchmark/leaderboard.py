"""Merge scored results into a leaderboard: Markdown, a static HTML page and JSON.

Rows are model + modality; columns are each task's leaderboard columns from the Task table
(detection and tracking F1, IoU and AP over all pixels of the split by default; volume MAE
of the target and the source container and the final-frame error, in ml), parameter count
and date. Several results with the same model,
modality and task (e.g. three training seeds) are shown as mean ± sample standard deviation
(ddof 1) over the runs. The best value of each column (as displayed; highest, or lowest for
errors) is bold.

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

from pourbench.benchmark.score import POOLED, RESULTS_FORMAT
from pourbench.core.atomic import write_text_atomic
from pourbench.core.errors import PourbenchError
from pourbench.core.tasks import TASKS, Column, Task

log = logging.getLogger(__name__)

#: ``all_pixels``: pooled over the split (every pixel, or every frame for volume).
AGGREGATIONS = ("all_pixels", "sequence_mean")


def _columns() -> list[tuple[Task, Column]]:
    return [(t, c) for t in TASKS.values() for c in t.columns]


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

    def text(self, digits: int = 3) -> str:
        if self.std is None:
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f}"


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
        key = POOLED[TASKS[task].kind] if aggregation == "all_pixels" else aggregation
        # columns added after a results file was written are left empty for it
        metrics = {c.key: float(doc[key][c.key]) for c in TASKS[task].columns if c.key in doc[key]}
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
        for task in TASKS.values():
            key = (model, modality, task.name)
            group = [r for r in runs if (r.model, r.modality, r.task) == key]
            if not group:
                continue
            row.runs[task.name] = len(group)
            for column in task.columns:
                values = np.array([r.metrics[column.key] for r in group if column.key in r.metrics])
                if not len(values):
                    continue
                std = float(values.std(ddof=1)) if len(values) > 1 else None
                row.cells[(task.name, column.key)] = Cell(float(values.mean()), std, len(values))

    def rank(row: Row) -> tuple:
        """By each task's main metric in table order (best first); missing ones last."""
        keys = []
        for t in TASKS.values():
            cell = row.cells.get((t.name, t.main_metric))
            keys.append(float("inf") if cell is None else
                        (-cell.mean if t.higher_is_better else cell.mean))  # fmt: skip
        return (*keys, row.model, row.modality)

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

    def columns(self) -> list[tuple[Task, Column]]:
        """The task columns shown: those of every task that has at least one run."""
        shown = {t for r in self.rows for t in r.runs}
        return [(t, c) for t, c in _columns() if t.name in shown]

    def best(self) -> dict[tuple[str, str], str]:
        """Best displayed value per column: highest, or lowest where lower is better."""
        best = {}
        for task, column in self.columns():
            key = (task.name, column.key)
            means = [r.cells[key].mean for r in self.rows if key in r.cells]
            if means:
                value = max(means) if column.higher_is_better else min(means)
                best[key] = f"{value:.{column.digits}f}"
        return best

    def header(self) -> list[str]:
        columns = self.columns()
        metric_cols = [f"{t.label} {c.label}" for t, c in columns]
        tasks = list(dict.fromkeys(t for t, _ in columns))
        runs = f"Runs ({'/'.join(t.short for t in tasks)})"
        return ["Model", "Modality", *metric_cols, "Parameters", runs, "Date"]

    def table(self) -> list[list[tuple[str, bool]]]:
        """Cells as (text, bold) per row, in header order."""
        best = self.best()
        columns = self.columns()
        tasks = list(dict.fromkeys(t for t, _ in columns))
        out = []
        for r in self.rows:
            cells = [(r.model, False), (r.modality, False)]
            for task, column in columns:
                key = (task.name, column.key)
                c = r.cells.get(key)
                if c is None:
                    cells.append(("–", False))
                else:
                    shown = f"{c.mean:.{column.digits}f}"
                    cells.append((c.text(column.digits), shown == best[key]))
            runs = "/".join(str(r.runs.get(t.name, 0)) for t in tasks)
            cells += [(format_parameters(r.num_parameters), False), (runs, False), (r.date, False)]
            out.append(cells)
        return out

    def note(self) -> str:
        where = "pooled over the test split (all pixels; all frames for volume)" if (
            self.aggregation == "all_pixels") else (
            "as the mean of per-sequence values")
        return (
            f"Metrics {where}; F1 and IoU at threshold 0.5, AP = area under the PR curve; "
            "volume: mean absolute error in ml over all frames (target = the receiving "
            "container), Final = error on the last frame. Several runs: mean ± sample "
            "standard deviation. Best per column in bold (lowest for errors)."
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
