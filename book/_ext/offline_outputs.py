"""Sphinx extension: HTML stored in notebook outputs loads no stylesheet from another host.

matplotlib's animation player (``Animation.to_jshtml``, chapter 2) links Font Awesome 4 from a CDN for its button
icons. The book's theme already ships Font Awesome, which draws the same ``fa fa-play`` icons offline, so the
link is dropped from the output when the page is built; the stored notebook keeps it (Jupyter and Colab need it).
tests/test_book_html.py checks that no page loads a script, stylesheet or image from outside.
"""
from __future__ import annotations

import re

from docutils import nodes

EXTERNAL_STYLESHEET = re.compile(r"""<link\b(?=[^>]*\brel=["']?stylesheet)[^>]*\bhref=["']?(?:https?:)?//[^>]*>\s*""",
                                 re.I)


def drop_external_stylesheets(app, doctree, docname) -> None:
    for node in list(doctree.findall(nodes.raw)):
        if "html" not in node.get("format", "").split():
            continue
        text = node.astext()
        new = EXTERNAL_STYLESHEET.sub("", text)
        if new != text:
            replacement = nodes.raw(new, new, **{k: v for k, v in node.attributes.items() if k != "ids"})
            node.replace_self(replacement)


def setup(app):
    app.connect("doctree-resolved", drop_external_stylesheets)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
