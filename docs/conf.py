"""Sphinx configuration of mole's API reference and guides (build: ``python docs/build.py``)."""
from __future__ import annotations

import mole

project = "mole"
author = "the mole developers"
copyright = "2026, the mole developers"
release = version = mole.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.napoleon",  # the "Args:" sections of the docstrings
    "sphinx.ext.viewcode",
    "myst_parser",  # the guides and the benchmark tables are Markdown
    "sphinx_gallery.gen_gallery",  # examples/*.py, run by the build, as pages with their output and figures
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "images/README*"]
templates_path = ["_templates"]

autosummary_generate = True
# each object once, on the page of the module that defines it (packages re-export names through __all__);
# scikit-learn's generated metadata-routing setters are its own, not mole's
autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True, "ignore-module-all": True,
                           "exclude-members": "set_fit_request,set_score_request,set_predict_request"}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_mock_imports: list[str] = []
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True  # an "Attributes:" section as fields: dataclass fields are documented once, by autodoc

# the guides are README's sections, included under a page title: their headings start one level down
suppress_warnings = ["myst.header"]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"mole {release}"

# the gallery's examples run inside this process: on one intra-op thread their tiny models train as fast, and a busy
# second core (another job beside the build) cannot stall every operation (the tests' one_thread fixture does the same)
import torch  # noqa: E402 - after mole, which imports it anyway

torch.set_num_threads(1)

# the gallery: every script of examples/ (the repository's; tests/test_examples.py runs them too) is executed by the
# build, and its printed output and matplotlib figures become one page of docs/auto_examples/ (generated, not kept)
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r".*\.py",  # run every example, not only plot_*.py
    "ignore_pattern": r"(^|[/\\])_[^/\\]*\.py$",  # helper modules (_name.py, __init__.py) are not examples
    "within_subsection_order": "FileNameSortKey",  # a name, not the class: Sphinx caches the configuration
    "download_all_examples": False,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "abort_on_example_error": True,  # an example that fails fails the build
    "plot_gallery": "True",
}
