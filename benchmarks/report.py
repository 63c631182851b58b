"""Write one benchmark's section into its page of docs/benchmarks/ (one page per question), between its own markers."""
from __future__ import annotations

import datetime
import platform
import re
import statistics
from pathlib import Path

import torch

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"  # the index of the pages (raw numbers beside it)
PAGES = DOC.parent / "benchmarks"
#: the page of each section (docs/benchmarks/<page>.md); families by prefix below, anything else: accuracy
PAGE_OF = {
    "rules": "accuracy", "vector": "accuracy", "grid": "accuracy", "graphs": "accuracy", "ablation-accuracy": "accuracy",
    "time-to-accuracy": "cost", "ablation-cost": "cost", "schedules": "cost", "cost-model": "cost", "race": "cost",
    "data-loading-loader": "cost", "data-parallel": "cost", "data-loading-memory": "memory",
    "estimator-timing": "signals", "estimator-accuracy": "signals", "signals": "signals", "signals-findings": "signals",
}
PREFIXES = {"labels-": "few_labels", "large-graphs-": "large_graphs", "depth-": "memory", "parity-": "cost"}


def page_of(name: str) -> Path:
    """The page a section named ``name`` belongs on."""
    page = PAGE_OF.get(name) or next((p for prefix, p in PREFIXES.items() if name.startswith(prefix)), "accuracy")
    return PAGES / f"{page}.md"


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}"


def mean_std(values, scale: float = 1.0, digits: int = 2) -> str:
    values = [v * scale for v in values]
    sd = statistics.pstdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {sd:.{digits}f}"


def write_section(name: str, body: str) -> None:
    """Replace section ``name`` wherever a page holds its markers, else append it to its page (:func:`page_of`).
    Links to figures are written relative to docs/ (``images/x.png``) and rewritten for the page's folder; the
    section ends with the date it was measured."""
    block = (f"<!-- BEGIN {name} -->\n{body.rstrip()}\n\nMeasured on {datetime.date.today():%Y-%m-%d}.\n"
             f"<!-- END {name} -->").replace("](images/", "](../images/")
    pattern = re.compile(rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->", re.S)
    PAGES.mkdir(parents=True, exist_ok=True)
    for page in sorted(PAGES.glob("*.md")):
        text = page.read_text()
        if pattern.search(text):
            page.write_text(pattern.sub(lambda _: block, text))
            return
    page = page_of(name)
    text = page.read_text() if page.exists() else f"# {name}\n"
    page.write_text(text.rstrip() + "\n\n" + block + "\n")
