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
