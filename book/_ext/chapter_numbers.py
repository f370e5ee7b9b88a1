"""Exercises numbered per chapter ("Exercise 7.2") while the chapter titles keep their own numbers.

sphinx-exercise numbers exercises like figures: per chapter only under a numbered toctree (``_toc.yml``:
``options: numbered: 1``, and ``numfig_secnum_depth`` 1, Sphinx's default). A numbered toctree also writes its
section numbers before every chapter title ("1. 1. The GAN game") and in the navigation, but the chapters' titles
already carry their number (``# 1. The GAN game``: the notebooks read the same in Jupyter and Colab). So, once
Sphinx has numbered the sections and from them the figures and exercises, this extension drops the section
numbers again: the exercise numbers stay, the titles read once. It warns (a ``-W`` build fails) when a chapter's
own number differs from the one the table of contents gives it, which would make "Exercise 3.1" sit in chapter 4.
"""
from __future__ import annotations

import re

from docutils import nodes
from sphinx.util import logging

logger = logging.getLogger(__name__)


def _drop_section_numbers(app, env) -> list[str]:
    for docname, secnums in env.toc_secnumbers.items():
        number = secnums.get("")  # the document's first heading: its title
        title = env.titles.get(docname)
        own = re.match(r"\s*(\d+)\.\s", title.astext()) if title is not None else None
        if own and number and int(own.group(1)) != number[0]:
            logger.warning("chapter_numbers: %s is titled %r but is chapter %d of the table of contents",
                           docname, title.astext(), number[0], location=docname)
    env.toc_secnumbers = {}
    for toc in env.tocs.values():
        for ref in toc.findall(nodes.reference):
            ref.attributes.pop("secnumber", None)
    for title in env.titles.values():
        title.attributes.pop("secnumber", None)
    return []


def setup(app):
    # after Sphinx's TocTreeCollector (priority 500) has assigned section and figure (exercise) numbers
    app.connect("env-get-updated", _drop_section_numbers, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
