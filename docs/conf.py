"""Sphinx configuration of the dante documentation site.

Build: ``make -C docs html`` (or ``sphinx-build -W -b html docs docs/_build/html``)
after ``pip install torch==2.13.0 -e ".[docs]"``.

The site's root page is ``site_index.rst``; ``index.md`` is the repository's
Markdown index of the hand-written and generated pages (it keeps its path
because README.md and pyproject.toml link to it) and is one page of the site.

The API reference is generated: :func:`_write_api_pages` writes one page per
package that has an ``__all__`` (``dante`` and each subpackage) into
``gen_modules/``, listing every exported name in an autosummary table, so a
name added to an ``__all__`` appears without touching the docs.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import re
from pathlib import Path

import dante

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
os.environ.setdefault("MPLBACKEND", "Agg")

# -- project -----------------------------------------------------------------

project = "dante"
author = "the dante authors"
copyright = "the dante authors, MIT licensed"  # noqa: A001
release = version = dante.__version__

root_doc = "site_index"
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    # sphinx-gallery writes per-gallery .py/.ipynb/.zip copies next to the .rst pages
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
    "auto_examples/*.json",
    "auto_examples/*.md5",
]

# Warnings are errors in CI (-W); references are not checked nitpickily (the
# docstrings name many types, e.g. ``torch.Tensor``, that have no target here).
nitpicky = False
suppress_warnings: list[str] = []

# ``make -C docs doctest`` runs every Python block of the getting-started page and the
# how-tos (``.. testcode::``, one namespace per page), a few minutes on two cores.
doctest_global_setup = "import torch; torch.set_num_threads(1)"
doctest_test_doctest_blocks = ""

# -- MyST (the Markdown pages under docs/) -----------------------------------

myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
# Slugs for ``page.md#section`` links (docs/index.md#tested-versions etc.).
myst_heading_anchors = 3

# -- autodoc / numpydoc ----------------------------------------

autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # the numpydoc "Parameters" sections carry the types
autodoc_inherit_docstrings = False  # pydantic/torch base-class docstrings are not ours
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- HTML ----------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"dante {release}"
html_static_path = ["_static"]
html_css_files = ["dante.css"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_sidebars = {"site_index": [], "getting_started": []}
html_show_sourcelink = True

# -- sphinx-gallery ------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": [str(ROOT / "examples")],
    "gallery_dirs": ["auto_examples"],
    # only plot_*.py run; docs/compute_estimate.py is not in examples/ anyway
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py|/_",
    "within_subsection_order": "FileNameSortKey",
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("dante",),
    "reference_url": {"dante": None},
    "abort_on_example_error": True,
    "remove_config_comments": True,
    "download_all_examples": False,
    "image_scrapers": ("matplotlib",),
    "min_reported_time": 0,
    "show_memory": False,
}

# -- linkcheck: internal links only ---------------------------------------------

# CI runs ``sphinx-build -b linkcheck`` with every web address ignored, so what
# it checks is the local targets (files linked from the pages); internal
# references and Markdown ``page.md#anchor`` links are checked by the -W html
# build (myst.xref_missing) and, in the built HTML, by check_rendered.py --links.
linkcheck_ignore = [r"https?://.*", r"mailto:.*"]
linkcheck_anchors = True


# -- the generated API reference ------------------------------------------------

API_DIR = HERE / "gen_modules" / "api"
STUB_DIR = HERE / "gen_modules" / "generated"

_STUB = {
    "class": """{title}

.. currentmodule:: {module}

.. autoclass:: {name}
   :members:

.. minigallery:: {full}
   :add-heading: Examples using ``{full}``
""",
    "function": """{title}

.. currentmodule:: {module}

.. autofunction:: {name}

.. minigallery:: {full}
   :add-heading: Examples using ``{full}``
""",
    "data": """{title}

.. currentmodule:: {module}

.. autodata:: {name}
   :no-value:
""",
}


def _api_packages() -> list[str]:
    """``dante`` and every subpackage of it that declares ``__all__``."""
    names = ["dante"]
    for info in sorted(pkgutil.iter_modules(dante.__path__), key=lambda m: m.name):
        if not info.ispkg or info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"dante.{info.name}")
        if getattr(mod, "__all__", None):
            names.append(mod.__name__)
    return names


def _summary(obj) -> str:
    """First sentence of the docstring, cut only where inline markup is balanced."""
    doc = inspect.getdoc(obj) or ""
    if inspect.isclass(obj) and obj.__doc__ is None:
        doc = ""
    para = " ".join(doc.split("\n\n", 1)[0].split())
    pos = 0
    while True:
        cut = para.find(". ", pos)
        if cut < 0:
            return para
        head = para[: cut + 1]
        if head.count("``") % 2 == 0 and head.replace("``", "").count("`") % 2 == 0:
            if head.count("(") == head.count(")"):
                return head
        pos = cut + 1


def _write(path: Path, text: str) -> None:
    if not path.exists() or path.read_text() != text:  # keep mtimes for incremental builds
        path.write_text(text)


def _heading(text: str, char: str) -> str:
    return f"{text}\n{char * len(text)}"


def _write_api_pages() -> None:
    """One page per package (its ``__all__`` in tables) and one stub per name."""
    API_DIR.mkdir(parents=True, exist_ok=True)
    STUB_DIR.mkdir(parents=True, exist_ok=True)
    packages = _api_packages()
    pages, stubs = {"index.rst"}, set()
    for pkg in packages:
        mod = importlib.import_module(pkg)
        groups: dict[str, list[tuple[str, object]]] = {
            "Classes": [],
            "Functions": [],
            "Constants": [],
            "Modules": [],
        }
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.ismodule(obj):
                if obj.__name__ not in packages:  # a documented package gets its own page
                    groups["Modules"].append((name, obj))
            elif inspect.isclass(obj):
                groups["Classes"].append((name, obj))
            elif callable(obj):
                groups["Functions"].append((name, obj))
            else:
                groups["Constants"].append((name, obj))
        lines = [
            _heading(f"``{pkg}``", "="),
            "",
            f".. automodule:: {pkg}",
            "   :no-members:",
            "",
            f".. currentmodule:: {pkg}",
            "",
        ]
        toc = []
        for title, entries in groups.items():
            if not entries or title == "Modules":
                continue
            lines += [_heading(title, "-"), "", ".. list-table::", "   :widths: 30 70", ""]
            for name, obj in entries:
                full = f"{pkg}.{name}"
                kind = {"Classes": "class", "Functions": "function"}.get(title, "data")
                title_text = full.replace("_", r"\_")  # ``sngd_step_`` is no reference
                stub = _STUB[kind].format(
                    title=_heading(title_text, "="), module=pkg, name=name, full=full
                )
                _write(STUB_DIR / f"{full}.rst", stub)
                stubs.add(f"{full}.rst")
                toc.append(f"   ../generated/{full}")
                summary = _summary(obj) if kind != "data" else ""
                lines += [f"   * - :doc:`{name} <../generated/{full}>`", f"     - {summary}"]
            lines.append("")
        for _name, obj in groups["Modules"]:
            lines += [
                _heading(f"Module ``{obj.__name__}``", "-"),
                "",
                f".. automodule:: {obj.__name__}",
                "   :no-members:",
                "",
            ]
        lines += [".. toctree::", "   :hidden:", ""] + toc + [""]
        pages.add(f"{pkg}.rst")
        _write(API_DIR / f"{pkg}.rst", "\n".join(lines))
    index = (
        [
            _heading("API reference", "="),
            "",
            "Every name exported by ``dante.__all__`` and by the ``__all__`` of each",
            "subpackage, generated from the docstrings (numpydoc format) when the site",
            "is built, so a newly exported name appears here without editing the docs.",
            "",
            ".. toctree::",
            "   :maxdepth: 1",
            "",
        ]
        + [f"   {p}" for p in packages]
        + [""]
    )
    _write(API_DIR / "index.rst", "\n".join(index))
    for folder, keep in ((API_DIR, pages), (STUB_DIR, stubs)):
        for stale in folder.glob("*.rst"):
            if stale.name not in keep:
                stale.unlink()


_write_api_pages()


# -- docstring and page fix-ups ---------------------------------------------------

#: where links that leave docs/ (``../README.md``) point in the site
SOURCE_URL = "https://github.com/dante-nn/dante/blob/main/"
_SHAPE_NAME = re.compile(r"(?<![`\w])([A-Za-z]\w*_)(?=[,)\s])")


def _escape_shape_names(app, what, name, obj, options, lines) -> None:
    """``ndarray of shape (n_features_in_,)``: a trailing ``_`` is an RST reference.

    scikit-learn's convention names fitted attributes ``x_``; in a numpydoc
    type (``of shape (...)``) such a name would be read as a hyperlink target,
    so it is set as a literal here.
    """
    for i, line in enumerate(lines):
        if "of shape (" in line:
            lines[i] = _SHAPE_NAME.sub(r"``\1``", line)


def _links_out_of_docs(app, docname, source) -> None:
    """Markdown links to files outside docs/ (``../README.md``) go to the repository."""
    if app.env.doc2path(docname).suffix == ".md":
        source[0] = re.sub(
            r"\]\(\.\./([^)#\s]+)", lambda m: f"]({SOURCE_URL}{m.group(1)}", source[0]
        )


def _skip_generated_members(app, what, name, obj, skip, options):
    """scikit-learn adds ``set_{method}_request`` methods (metadata routing) to every
    estimator class; their docstrings point into scikit-learn's own user guide."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_generated_members)
    app.connect("autodoc-process-docstring", _escape_shape_names, priority=400)
    app.connect("source-read", _links_out_of_docs)
