"""SVG pictures of a session's autograd graph, drawn by Graphviz's `dot` when the server has it installed."""

from __future__ import annotations

import shutil
import subprocess

from .errors import Problem

# dot's layout is superlinear in the graph's size; past this the client is better served by format=dot
RENDER_TIMEOUT_SECONDS = 10.0


def render_svg(dot_source: str) -> bytes:
    """`dot -Tsvg` on the source, without a shell; 406 svg-unavailable when `dot` is not on PATH."""
    dot = shutil.which("dot")
    if dot is None:
        raise Problem(406, "svg-unavailable",
                      "this server has no Graphviz `dot` to draw SVG; ask for format=dot and render it yourself "
                      "(`dot -Tsvg graph.dot > graph.svg`)")
    try:
        done = subprocess.run([dot, "-Tsvg"], input=dot_source.encode(), capture_output=True,
                              timeout=RENDER_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise Problem(413, "limit-exceeded", f"the graph is too large to draw within {RENDER_TIMEOUT_SECONDS:g} s; "
                                             "ask for format=dot and render it yourself") from None
    if done.returncode != 0:
        # the DOT text is ours, so a failure here is the server's fault, reported by the 500 handler
        raise RuntimeError(f"dot -Tsvg exited with {done.returncode}: {done.stderr.decode(errors='replace')[:500]}")
    return done.stdout
