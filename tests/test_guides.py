"""The guides' Python code runs as written: every ```python block of a guide, top to bottom, in one namespace."""
import re
from pathlib import Path

import pytest

GUIDES = Path(__file__).resolve().parent.parent / "docs" / "guides"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


RUNS = "The code on this page runs"  # as docs/build.py: such a guide's code is executed by the docs build too
LAUNCHES = ("schedules.md",)  # its code starts asynchronous workers: the process lane
EXECUTED = ["your_data.md", "your_network.md", "your_loop.md", "convergence.md", "extending.md", "python_api.md", "rules.md",
            "few_labels.md", "schedules.md", "analysis.md", "large_graphs.md"]


def test_the_guides_that_run_are_the_ones_tested():
    assert sorted(p.name for p in GUIDES.glob("*.md") if RUNS in p.read_text()) == sorted(EXECUTED)


@pytest.mark.parametrize("guide", [pytest.param(g, marks=pytest.mark.process) if g in LAUNCHES else g for g in EXECUTED])
def test_a_guide_runs(guide, capsys):
    blocks = BLOCK.findall((GUIDES / guide).read_text())
    assert blocks
    namespace = {"__name__": f"guide_{guide[:-3]}"}
    for block in blocks:
        exec(compile(block, f"{guide}", "exec"), namespace)  # noqa: S102 - the documentation's own code
    printed = capsys.readouterr().out
    assert printed.count("\n") >= len(blocks) and "Traceback" not in printed
