"""A bug in mole is one line too: a crash report (traceback, versions, command) in the run folder, failure.json,
exit status 1; ``-v`` shows the traceback. Bad input keeps its exit status 2."""
import json

import pytest

import mole.experiment
from mole.cli import main

FAST = ["--epochs", "1", "-q", "--no-plots", "--monitor-every", "0"]


def broken(*args, **kwargs):
    raise ZeroDivisionError("a planted bug")


@pytest.fixture
def planted(monkeypatch):
    monkeypatch.setattr(mole.experiment, "fit", broken)


def test_a_bug_inside_a_run_leaves_a_crash_report_and_one_line(tmp_path, capsys, planted):
    out = tmp_path / "run"
    assert main(["run", *FAST, "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("mole: error: mole crashed (ZeroDivisionError: a planted bug)") and "bug in mole" in err
    report = out / "crash.txt"
    assert str(report) in err and "-v" in err
    text = report.read_text()
    assert "Traceback" in text and "broken" in text and "ZeroDivisionError: a planted bug" in text
    assert "command: mole run --epochs 1" in text and "torch: " in text and "mole: " in text
    failure = json.loads((out / "failure.json").read_text())
    assert failure["kind"] == "crash" and failure["report"] == str(report)
    assert not (out / "results.json").exists()


def test_verbose_shows_the_traceback_before_the_line(tmp_path, capsys, planted):
    assert main(["run", *FAST, "-v", "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "in broken" in err
    assert err.strip().splitlines()[-1].startswith("mole: error: mole crashed")


def test_a_bug_before_the_run_folder_exists_reports_into_the_temporary_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(mole.experiment, "load_dataset", broken)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)  # TMPDIR is read again
    assert main(["run", *FAST, "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "ZeroDivisionError" in err
    reports = list((tmp_path / "tmp").glob("mole-crash-*.txt"))
    assert len(reports) == 1 and str(reports[0]) in err and "Traceback" in reports[0].read_text()


def test_bad_input_is_still_exit_2_without_a_report(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", *FAST, "--epochs", "0", "--out", str(out)]) == 2
    assert not (out / "crash.txt").exists()


def test_memory_that_runs_out_is_one_line_naming_the_sizes_to_lower(tmp_path, capsys, monkeypatch):
    def allocate(*args, **kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate "
                           "memory: you tried to allocate 64000000000000 bytes.")
    monkeypatch.setattr(mole.experiment, "fit", allocate)
    out = tmp_path / "run"
    assert main(["run", *FAST, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("mole: error: out of memory") and "--hidden" in err
    assert not (out / "crash.txt").exists()
