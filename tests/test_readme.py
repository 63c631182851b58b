"""README's example output is what `mole run` prints: the header line, the table's columns and the method names
(with their signal) of the default command; a drift in any of them fails here."""
import re
from pathlib import Path

from mole.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"


def _readme_example() -> list[str]:
    text = README.read_text()
    block = re.search(r"`mole run` prints a table and writes a run folder:\n\n```\n(.*?)```", text, re.S)
    assert block, "README lost its example output of `mole run`"
    return block.group(1).splitlines()


def test_the_readme_example_output_matches_what_mole_run_prints(tmp_path, capsys):
    assert main(["run", "--out", str(tmp_path / "run"), "--epochs", "1", "--no-plots", "--no-probes",
                 "--monitor-every", "0", "--accuracy-every", "0"]) == 0
    printed = capsys.readouterr().out.splitlines()
    example = _readme_example()
    start = next(i for i, line in enumerate(printed) if line.startswith("digits ("))
    assert example[0] == printed[start]  # dataset, split, model, seed
    assert example[1].split() == printed[start + 1].split()  # the columns
    methods = lambda lines: [re.split(r"\s{2,}", line.strip())[0] for line in lines]  # noqa: E731
    assert methods(example[3:5]) == methods(printed[start + 3:start + 5])  # method names and signal
