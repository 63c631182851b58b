"""README's example output is what `mole run` prints: the header line, the table's columns and the method names
(with their signal) of the default command; a drift in any of them fails here (`python docs/readme_example.py`
writes the block from a real run). README stays one screen's read and links only inside the repository."""
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


def test_the_readme_is_short_and_links_inside_the_repository():
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    root = README.parent
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        if not target.startswith(("http://", "https://")):
            assert (root / target).exists(), f"README links to {target}, which is not in the repository"
    assert "shared folder" not in text and "../shared" not in text


def test_published_pages_carry_no_issue_numbers():
    """History belongs to CHANGELOG.md and the commit log; the pages say what is, not which issue asked for it."""
    docs = README.parent / "docs"
    pages = [README, *(p for p in docs.rglob("*.md") if "_build" not in p.parts and "auto_examples" not in p.parts),
             *(README.parent / "examples").glob("*.py")]  # the gallery's pages
    found = [f"{p.relative_to(README.parent)}:{i}" for p in pages for i, line in enumerate(p.read_text().splitlines(), 1)
             if re.search(r"\b[Ii]ssues? \d", line)]
    assert not found, found
