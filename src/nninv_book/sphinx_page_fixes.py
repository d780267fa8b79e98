"""A Sphinx extension that keeps the book's pages free of browser console errors.

Two upstream defects of the Jupyter Book 1 stack are mended here, where the
book is built, rather than hidden in the browser test:

* sphinx-thebe registers its configuration script once per read of the
  environment, so pages declare ``const THEBE_JS_URL`` twice and the second
  declaration throws; scripts are de-duplicated per page.
* the theme's head script leaves the colour mode empty on a reader's first
  visit (empty ``localStorage``), which pydata-sphinx-theme reports as
  "invalid theme mode"; an empty mode is set to ``auto``, the theme's default.
"""

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


def setup(app):
    app.add_js_file(None, body=MODE_DEFAULT, priority=0)
    # Early: html-page-context stops at the first handler that returns a template name.
    app.connect("html-page-context", _deduplicate_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
