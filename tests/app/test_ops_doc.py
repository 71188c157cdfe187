"""docs/ops.md is the op catalog as Markdown, generated, never edited by hand."""

from __future__ import annotations

import re
from pathlib import Path

from app.export_ops import ops_markdown, signature
from engine import OPS

ROOT = Path(__file__).resolve().parents[2]


def test_committed_ops_doc_matches_the_catalog():
    committed = (ROOT / "docs" / "ops.md").read_text(encoding="utf-8")
    assert committed == ops_markdown(), "docs/ops.md is stale: run `make ops-doc`"


def test_every_public_op_has_a_section_in_its_family():
    text = ops_markdown()
    sections = re.findall(r"^### `(\w+)`$", text, flags=re.M)
    public = [n for n, o in OPS.items() if o.public]
    assert sorted(sections) == sorted(public)
    for family in {o.family for o in OPS.values() if o.public}:
        assert f"\n## {family}\n" in text
    clip = text[text.index("### `clip`"):]
    assert "PyTorch `torch.clamp`" in clip[:800] and "aliases `clamp`" in clip[:800]


def test_signatures_read_like_python():
    assert signature(OPS["clip"].describe()) == "clip(a, *, min: number | null = null, max: number | null = null)"
    assert signature(OPS["topk"].describe()) == \
        "topk(a, *, k: int, axis: int = -1, largest: bool = true)"
    assert signature(OPS["concat"].describe()) == "concat(*tensors, axis: int = 0)"
