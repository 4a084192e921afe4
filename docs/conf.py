"""Sphinx configuration of the skreg documentation.

Build it from the root of the repository with::

    pip install ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

import sys
from pathlib import Path

# Import skreg from the source tree, so that the documentation describes the
# code next to it even when another version is installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import skreg  # noqa: E402

project = "skreg"
author = "The skreg developers"
copyright = "The skreg developers"
version = skreg.__version__
release = skreg.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "matplotlib.sphinxext.plot_directive",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"

# -- API reference ------------------------------------------------------------

# One page per public name, generated into docs/generated/ (not version
# controlled) from docs/_templates/autosummary/.
autosummary_generate = True
autodoc_typehints = "none"
autodoc_member_order = "groupwise"

# numpydoc renders the sections; the members are listed by the autosummary
# templates, so numpydoc's own member tables (which would point to pages that
# are not generated) are turned off.
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False


def _skip_scikit_learn_members(app, what, name, obj, skip, options):
    """Leave out the members that scikit-learn's base classes provide.

    ``score``, ``get_params``, ``set_params``, ``get_metadata_routing`` and the
    ``set_*_request`` methods are scikit-learn's, documented there; their
    docstrings refer to pages of scikit-learn's own documentation.
    """
    if (getattr(obj, "__module__", None) or "").startswith("sklearn."):
        return True
    return None


# -- Figures of the user guide ------------------------------------------------

# ``.. plot::`` runs the code shown with a figure and inserts the figure.
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]

# -- Example gallery ----------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # The scripts are not named plot_*.py: run every one of them.
    "filename_pattern": r".*\.py$",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "show_memory": False,
    # An example that fails breaks the build.
    "abort_on_example_error": True,
}

# -- HTML output --------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skreg {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}


def setup(app):
    app.connect("autodoc-skip-member", _skip_scikit_learn_members)
