"""``mole compare RUN_DIR...``: many runs of one dataset and model, aggregated per method.

Each argument is a run folder (it holds ``results.json``) or a folder holding run folders at any depth (e.g.
a ``--seeds`` run's parent). Runs must share the dataset and the model. Per method (a local rule under a
non-default schedule counts as its own method, e.g. ``mole (simultaneous)``): the number of runs, test
accuracy mean ± std (population std over runs), training seconds, peak memory, and the mean linear-probe
accuracy of each module. Written as ``compare.md`` (markdown) and ``compare.png`` (accuracy per method with
every run's point and the mean ± std; the test-accuracy curves of every run overlaid, one colour per method).
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path

from .errors import ConfigError

RESULTS = "results.json"


def find_runs(folders: list[Path]) -> list[dict]:
    """The ``results.json`` of every run in ``folders`` (run folders, or folders searched at any depth), each with its
    folder added as ``run_dir``; a :class:`~mole.errors.ConfigError` if a folder holds none, a file is not a finished
    run's, or the runs differ in dataset or model."""
    runs = []
    for folder in folders:
        if not folder.is_dir():
            raise ConfigError(f"{folder} is not a folder; pass run folders of `mole run` (they hold {RESULTS})")
        files = [folder / RESULTS] if (folder / RESULTS).is_file() else sorted(folder.rglob(RESULTS))
        if not files:
            raise ConfigError(f"{folder} holds no {RESULTS}; pass finished `mole run` folders")
        for f in files:
            try:
                res = json.loads(f.read_text())
            except json.JSONDecodeError:
                res = None
            if not isinstance(res, dict) or not isinstance(res.get("runs"), list):
                raise ConfigError(f"{f} is not a finished run's {RESULTS}; rerun it or leave it out")
            res["run_dir"] = str(f.parent)
            runs.append(res)
    kinds = {(r["dataset"], r["model"]) for r in runs}
    if len(kinds) > 1:
        listed = ", ".join(f"{d} / {m}" for d, m in sorted(kinds, key=str))
        raise ConfigError(f"the runs differ in dataset or model ({listed}); compare runs of one dataset and model")
    return runs


def method_key(run: dict) -> str:
    """The name a run is aggregated under: its method, followed by its schedule in parentheses unless the schedule is
    sequential or the method trains end to end (e.g. ``"mole (simultaneous)"``)."""
    schedule = run.get("schedule", "sequential")
    return run["method"] if schedule == "sequential" or run.get("end_to_end") else f"{run['method']} ({schedule})"


def aggregate(results: list[dict]) -> dict[str, dict]:
    """The runs of ``results`` grouped by :func:`~mole.compare.method_key`: per method, ``{"runs", "n", "accuracy_mean",
    "accuracy_std", "train_seconds", "peak_memory_mb", "probes"}`` (population std of the test accuracy; means of the
    seconds and peak memory; per module, the mean probe accuracy of the runs that measured it, else None)."""
    by_method: dict[str, list[dict]] = {}
    for res in results:
        for run in res["runs"]:
            by_method.setdefault(method_key(run), []).append({**run, "seed": res.get("seed")})
    table = {}
    for method, runs in by_method.items():
        accs = [r["test_accuracy"] for r in runs]
        n_modules = max(len(r["modules"]) for r in runs)
        probes = [[m.get("probe_accuracy") for m in r["modules"]] for r in runs]
        table[method] = {
            "runs": runs, "n": len(runs), "accuracy_mean": statistics.mean(accs),
            "accuracy_std": statistics.pstdev(accs) if len(accs) > 1 else 0.0,
            "train_seconds": statistics.mean(r["train_seconds"] for r in runs),
            "peak_memory_mb": statistics.mean(r["peak_memory_mb"] for r in runs),
            "probes": [statistics.mean(v) if (v := [p[k] for p in probes if k < len(p) and p[k] is not None]) else None
                       for k in range(n_modules)]}
    return table


def markdown(results: list[dict], table: dict[str, dict]) -> str:
    """``compare.md``'s text: a line naming the dataset and model, then a markdown table with one row per method of
    ``table`` (from :func:`~mole.compare.aggregate`)."""
    n_modules = max(len(t["probes"]) for t in table.values())
    head = ["method", "runs", "test accuracy %", "train s", "peak MB", *[f"probe m{k + 1} %" for k in range(n_modules)]]
    lines = [f"{results[0]['dataset']}, model {results[0]['model']}, {len(results)} run folder(s)", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for method, t in table.items():
        probes = [f"{100 * p:.2f}" if p is not None else "–" for p in t["probes"]]
        probes += ["–"] * (n_modules - len(probes))
        lines.append(f"| {method} | {t['n']} | {100 * t['accuracy_mean']:.2f} ± {100 * t['accuracy_std']:.2f} | "
                     f"{t['train_seconds']:.1f} | {t['peak_memory_mb']:.1f} | " + " | ".join(probes) + " |")
    return "\n".join(lines)


def compare_runs(folders: list[Path], out: Path) -> tuple[str, Path | None]:
    """Aggregate the runs under ``folders``; write ``out``/compare.md and compare.png; return (table, figure)."""
    results = find_runs(folders)
    table = aggregate(results)
    text = markdown(results, table)
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.md").write_text(text + "\n")
    from .plots.compare import plot_compare
    fig = plot_compare(table, f"{results[0]['dataset']}, {results[0]['model']}")
    figure = out / "compare.png"
    fig.savefig(figure, dpi=110, metadata={"Software": None})
    return text, figure
