"""Write the op catalog as Markdown, grouped by family: `python -m app.export_ops docs/ops.md` (`make ops-doc`).

The text comes from the same catalog entries that `GET /v1/ops` serves, so the document cannot say
something the service does not do; tests/app/test_ops_doc.py fails when the committed file has drifted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

INTRO = """\
# Op catalog

Generated from the op catalog (`GET /v1/ops`) by `make ops-doc`; do not edit by hand.

Every op below is a function of the engine (`engine.relu(x)`), a method where it takes one tensor first
(`x.relu()`), an op of programs (`{{"op": "relu", "args": ["x"]}}`) and a call in expressions (`relu(x)`,
`x.relu()`). Positional arguments past an op's tensors fill its kwargs in order (`sum(x, 0)`,
`clip(x, 0, 1)`); a list of sizes may be spread out as PyTorch writes it (`x.view(2, 3)`).

Names and kwargs follow numpy where numpy has the op, PyTorch otherwise. PyTorch's (and some of numpy's)
other names are aliases, listed with each op and accepted wherever an op is named. These kwarg spellings
are accepted by every op that has the kwarg they stand for: {kwarg_aliases}.

Where the engine and PyTorch read the same name differently, the catalog keeps numpy's meaning:

- `transpose(a, axes=)` permutes axes as numpy does (torch's `permute`); torch's `transpose(a, d0, d1)` is
  `swapaxes`.
- `repeat` repeats elements (numpy's `repeat`, torch's `repeat_interleave`); repeating the whole tensor
  (torch's `Tensor.repeat`) is `tile`.
- `pad` takes numpy's `pad_width`, first axis first: `[[before, after], ...]`, or one pair or one number for
  every axis. torch's `F.pad` lists the last dimension first.
- `max`, `min`, `sort` and `topk` give values only (torch's `max(dim)`, `sort` and `topk` also give indices:
  use `argmax`, `argmin` and `argsort`).
- `cumsum`, `cumprod`, `argmax`, `argmin` and `roll` without an axis work on the flattened tensor, as numpy.
- `argsort` and `sort` are stable; with `descending`, tied elements come in reverse order.
- `gather` and `scatter_add` are torch's (their indices may be smaller than the tensor along the other
  axes); `masked_fill` takes a number as value.
- A kwarg written as an integer is an integer: `clip(int64 tensor, min=1)` stays int64 where `min=1.5`
  gives float32, as in PyTorch (JSON cannot tell `1.0` from `1` in some clients: write `1.5`-style values
  where a float matters).
- Gradients at kinks follow PyTorch: 0 at 0 for `relu` and `abs`, split evenly at ties for `maximum`,
  `max` and the like, passed strictly inside the bounds for `hardtanh`.

{count} ops in {families} families: {toc}.
"""


def _anchor(family: str) -> str:
    return family.replace(" ", "-")


def _value(v) -> str:
    return json.dumps(v)


def signature(entry: dict) -> str:
    """How the op is called, in Python syntax with the kwargs' types and defaults."""
    parts = list(entry["args"])
    if entry["kwargs"] and entry["arity"] != "variadic":  # kwargs are keyword-only
        parts.append("*")
    for k in entry["kwargs"]:
        default = "" if k["required"] else f" = {_value(k['default'])}"
        parts.append(f"{k['name']}: {k['type']}{default}")
    return f"{entry['name']}({', '.join(parts)})"


def describe(entry: dict) -> str:
    facts = [f"gradient `{entry['grad_fn']}`" if entry["differentiable"] else "no gradient",
             f"PyTorch `{entry['torch']}`"]
    if entry["aliases"]:
        facts.append("aliases " + ", ".join(f"`{a}`" for a in entry["aliases"]))
    spelled = [f"`{a}` for `{k['name']}`" for k in entry["kwargs"] for a in k["aliases"]]
    if spelled:
        facts.append("kwargs also " + ", ".join(spelled))
    if entry["method"]:
        facts.append(f"method `x.{entry['name']}(...)`")
    doc = " ".join(entry["doc"].split())
    return f"### `{entry['name']}`\n\n`{signature(entry)}`\n\n{doc}\n\n{'; '.join(facts)}.\n"


def ops_markdown() -> str:
    from engine.registry import KWARG_ALIASES, OPS

    entries = [o.describe() for o in OPS.values() if o.public]
    families: dict[str, list[dict]] = {}
    for e in entries:  # in the order the op table declares them
        families.setdefault(e["family"], []).append(e)
    kwarg_aliases = ", ".join(f"`{a}` for `{' / '.join(t)}`" for a, t in KWARG_ALIASES.items())
    toc = ", ".join(f"[{f}](#{_anchor(f)}) ({len(ops)})" for f, ops in families.items())
    parts = [INTRO.format(kwarg_aliases=kwarg_aliases, count=len(entries), families=len(families), toc=toc)]
    for family, ops in families.items():
        names = ", ".join(f"`{e['name']}`" for e in ops)
        parts.append(f"## {family}\n\n{names}\n")
        parts.extend(describe(e) for e in ops)
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.exit("usage: python -m app.export_ops PATH")
    path = Path(args[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ops_markdown(), encoding="utf-8")


if __name__ == "__main__":
    main()
