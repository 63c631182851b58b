"""Removes an asynchronous run's temporary folder when the process that made it dies, even by SIGKILL.

The launcher runs this file as a script, ``python janitor.py FOLDER``, with its standard input a pipe
from the launcher: a tiny process that imports neither mole nor torch. It blocks reading the pipe, which
ends when the launcher closes it (the run is over and the folder already deleted) or when the launcher
dies in any way (the kernel closes its end); then it deletes the folder if it still exists. No signals,
so it works wherever pipes do.
"""
from __future__ import annotations

import shutil
import sys


def main(folder: str) -> int:
    """Block until standard input ends (the launcher closed the pipe, or died), then delete ``folder``; returns 0."""
    try:
        sys.stdin.buffer.read()  # returns at end of file: the launcher closed the pipe or died
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
