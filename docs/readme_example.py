"""Write README's example output from a real run of the default command.

    python docs/readme_example.py

Runs ``mole run`` (the default job: digits, MLP, MOLE next to backprop) into a temporary folder and replaces the
block under "`mole run` prints a table and writes a run folder:" with what it printed (the run folder's name
shortened to ``runs/<name>``). ``tests/test_readme.py`` fails when the block's header, columns or method names drift
from what ``mole run`` prints.
"""
from __future__ import annotations

import contextlib
import io
import re
import tempfile
from pathlib import Path

from mole.cli import main as mole

README = Path(__file__).resolve().parent.parent / "README.md"
INTRO = "`mole run` prints a table and writes a run folder:\n\n```\n"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "runs" / "digits-mlp"
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            assert mole(["run", "--out", str(out)]) == 0
    lines = printed.getvalue().replace(str(out.parent), "runs").rstrip().splitlines()
    text = "\n".join(line.rstrip() for line in lines) + "\n"
    readme = README.read_text()
    block = re.compile(re.escape(INTRO) + r".*?```", re.S)
    if not block.search(readme):
        raise SystemExit("README lost its example block; restore the line " + INTRO.splitlines()[0])
    README.write_text(block.sub(lambda _: INTRO + text + "```", readme, count=1))
    print(text)


if __name__ == "__main__":
    main()
