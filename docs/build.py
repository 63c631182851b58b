"""Build the API reference and guides, and check that every public name of mole is in it.

    python docs/build.py            # HTML into docs/_build/html (needs: pip install -e ".[docs]")

Warnings are errors (a broken reference, a malformed docstring or a missing page fails the build). Before it, the
Python code of every guide that says it runs (":data:`RUNS`") is executed, top to bottom, in one namespace per guide;
the build itself executes the gallery (sphinx-gallery over ``examples/``). After the build, the object inventory
must hold every name of ``mole.__all__`` (under the module that defines it) and every public module; and every
public class and function of the package must have a docstring.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
OUT = DOCS / "_build" / "html"
#: a guide whose text says this is executed by the build (and by tests/test_guides.py)
RUNS = "The code on this page runs"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def executed_guides() -> list[Path]:
    """The guides whose code the build runs."""
    return sorted(p for p in (DOCS / "guides").glob("*.md") if RUNS in p.read_text())


def run_guide(guide: Path) -> None:
    """Every ```python block of ``guide``, top to bottom, in one namespace (an exception fails the build)."""
    namespace = {"__name__": f"guide_{guide.stem}"}
    for block in BLOCK.findall(guide.read_text()):
        exec(compile(block, str(guide), "exec"), namespace)  # noqa: S102 - the documentation's own code


def public_modules() -> list[str]:
    import mole
    return ["mole"] + [m.name for m in pkgutil.walk_packages(mole.__path__, "mole.")
                       if not any(part.startswith("_") for part in m.name.split("."))]


def undocumented(modules: list[str]) -> list[str]:
    """Public classes and functions defined in ``modules`` without a docstring of their own."""
    missing = []
    for name in modules:
        module = importlib.import_module(name)
        if not (module.__doc__ or "").strip():
            missing.append(f"{name} (module)")
        for key, value in vars(module).items():
            if key.startswith("_") or getattr(value, "__module__", None) != name:
                continue
            if (inspect.isclass(value) or inspect.isfunction(value)) and not (value.__doc__ or "").strip():
                missing.append(f"{name}.{key}")
    return missing


def inventory_names() -> set[str]:
    from sphinx.util.inventory import InventoryFile
    with open(OUT / "objects.inv", "rb") as f:
        inv = InventoryFile.load(f, "", lambda base, uri: uri)
    return {name for kind in inv.data.values() for name in kind} if hasattr(inv, "data") else \
        {name for kind in inv.values() for name in kind}


def main() -> int:
    modules = public_modules()
    missing = undocumented(modules)
    if missing:
        print("public names without a docstring:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 1
    for guide in executed_guides():
        run_guide(guide)
        print(f"docs: ran the code of guides/{guide.name}")
    build = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(OUT)]
    if subprocess.call(build) != 0:
        return 1
    import mole
    names = inventory_names()
    short = {name.rsplit(".", 1)[-1] for name in names}
    absent = [f"mole.{n}" for n in mole.__all__ if n not in short and f"mole.{n}" not in names]
    absent += [m for m in modules if m not in names]
    if absent:
        print("missing from the reference:\n  " + "\n  ".join(absent), file=sys.stderr)
        return 1
    print(f"docs: {OUT / 'index.html'} ({len(modules)} modules, every public name documented)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
