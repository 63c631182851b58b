"""The guides' Python code runs as written: every ```python block of a guide, top to bottom, in one namespace."""
import re
from pathlib import Path

import pytest

GUIDES = Path(__file__).resolve().parent.parent / "docs" / "guides"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


@pytest.mark.parametrize("guide", ["your_data.md", "your_network.md"])
def test_a_guide_runs(guide, capsys):
    blocks = BLOCK.findall((GUIDES / guide).read_text())
    assert len(blocks) >= 3
    namespace = {"__name__": f"guide_{guide[:-3]}"}
    for block in blocks:
        exec(compile(block, f"{guide}", "exec"), namespace)  # noqa: S102 - the documentation's own code
    printed = capsys.readouterr().out
    assert printed.count("\n") >= 3 and "Traceback" not in printed
