"""A Sphinx extension for the book's pages: no browser console errors, and the book's own static files.

Two upstream defects of the Jupyter Book 1 stack are mended here, where the
book is built, rather than hidden in the browser test:

* sphinx-thebe registers its configuration script once per read of the
  environment, so pages declare ``const THEBE_JS_URL`` twice and the second
  declaration throws; scripts are de-duplicated per page.
* the theme's head script leaves the colour mode empty on a reader's first
  visit (empty ``localStorage``), which pydata-sphinx-theme reports as
  "invalid theme mode"; an empty mode is set to ``auto``, the theme's default.

It also serves the book's own static files (``static/``) on every page: the
style that fits code to the column (``book.css``) and the null-space
explorer's script and style (see :mod:`nninv_book.explorer`).
"""

from pathlib import Path

STATIC = Path(__file__).with_name("static")

MODE_DEFAULT = "if (!document.documentElement.dataset.mode) { document.documentElement.dataset.mode = 'auto'; }"


def _deduplicate_scripts(app, pagename, templatename, context, doctree):
    scripts, seen = [], set()
    for script in context.get("script_files", []):
        # The same inline script is registered once with filename None and once with "".
        key = (getattr(script, "filename", script) or None, tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            scripts.append(script)
    context["script_files"][:] = scripts


def _serve_static(app, config):
    config.html_static_path.append(str(STATIC))


def setup(app):
    app.add_js_file(None, body=MODE_DEFAULT, priority=0)
    app.connect("config-inited", _serve_static)
    app.add_js_file("nullspace-explorer.js")
    app.add_css_file("book.css")
    app.add_css_file("nullspace-explorer.css")
    # Early: html-page-context stops at the first handler that returns a template name.
    app.connect("html-page-context", _deduplicate_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
