"""The op registry: one declaration per op, and everything derived from it.

An op is declared once (in `ops.py`, or any op module the binding step loads) as a numpy
forward function whose signature carries the kwargs (names, types, defaults) and whose
docstring is its doc, decorated with its vjp, grad_fn name, what it saves, its shape rule and
whether it is also a Tensor method. The declaration is checked when it is made, so a mistake
fails at import. Upper layers derive their tables from it (the engine function, the Tensor
method, the vjp namespaces) through `on_register`, as each op is declared, so an op declared
after `import engine` is as complete as the built-in ones.
"""

from __future__ import annotations

import difflib
import inspect
import reprlib
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

from .errors import OpError
from .graph import GradFnRule, Node
from .kwarg_types import (  # op modules import the kwarg types from here, next to `op`
    KWARG_ALIASES,
    kwarg_type,
)
from .kwarg_types import Axes as Axes
from .kwarg_types import Bool as Bool
from .kwarg_types import DType as DType
from .kwarg_types import Int as Int
from .kwarg_types import IntOrInts as IntOrInts
from .kwarg_types import Ints as Ints
from .kwarg_types import Key as Key
from .kwarg_types import KwargType as KwargType
from .kwarg_types import Number as Number
from .kwarg_types import OptInt as OptInt
from .kwarg_types import OptNumber as OptNumber
from .kwarg_types import PadWidth as PadWidth
from .kwarg_types import Shape as Shape
from .tensor import Tensor

# what an op's forward receives for each tensor argument: the tensor's array, or a python number as given
ArrayOrNumber: TypeAlias = NDArray[Any] | int | float
# what a forward returns: an array, or a scalar (a full reduction's, or a number passed through), which dispatch
# makes a 0-d array
ArrayOrScalar: TypeAlias = NDArray[Any] | np.generic | int | float
# rule(F, g, ans, *inputs, **kwargs) -> the gradient of one input (see `op`); F is a VjpNamespace of reverse mode
VjpRule: TypeAlias = Callable[..., Any]
# shape(*input shapes, **kwargs) -> the result's shape
ShapeRule: TypeAlias = Callable[..., tuple[int, ...]]

# ---------------------------------------------------------------------------- declarations

_SAVES = ("inputs", "output")
# how forward mode (engine.jvp) pushes tangents through an op, see `op`
JVP_KINDS = (None, "elementwise", "linear", "bilinear")
_REFIT = frozenset({"vjp", "saves_inputs", "kwargs"})  # what `plain_vjp` is fitted to


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 3, 8, 60, 60, 40


def _short(v: object) -> str:
    """A value for an error message, cut short: a kwarg may be nested a thousand lists deep."""
    try:
        return _REPR.repr(v)
    except (RecursionError, ValueError):
        return f"a {type(v).__name__}"


class OpDef:
    """Everything known about one op, read off its declaration. Calling it applies the op."""

    def __init__(self, forward: Callable[..., Any], *, vjp: tuple[VjpRule | None, ...] | VjpRule | None,
                 grad_fn: str | GradFnRule | None, saves: str, shape: ShapeRule | None, method: bool,
                 check_shape: bool, int_args: Sequence[int], public: bool, aliases: Iterable[str] = (),
                 family: str | None = None, torch: str | None = None, promote_0d: bool = False,
                 batched: bool | tuple[VjpRule | None, ...] | VjpRule = False, jvp: str | None = None):
        self.name = forward.__name__.rstrip("_")
        self.aliases = tuple(aliases)
        self.family = family
        # the PyTorch counterpart, for the catalog and docs: nn ops live in torch.nn.functional
        self.torch = torch or f"torch.{'nn.functional.' if family in _FUNCTIONAL else ''}{self.name}"
        # torch's losses broadcast their inputs before promoting: a 0-d float64 operand then counts fully
        self.promote_0d = promote_0d
        self.forward = forward
        self.vjp = vjp
        # the vjp of a batched backward, whose g has leading batch axes: the vjp itself when its rules handle
        # them (batched=True), separate batch rules (the vjp's form), or None: a loop over g's rows
        self.batch_vjp = vjp if batched is True else (batched or None)
        if jvp not in JVP_KINDS:
            raise TypeError(f"op '{forward.__name__}': jvp={jvp!r} must be one of {JVP_KINDS}")
        if jvp is not None and vjp is None:
            raise TypeError(f"op '{forward.__name__}': a jvp needs a vjp (it is for differentiable ops)")
        self.jvp = jvp
        self.saves = saves
        words = saves.split()
        if any(w not in _SAVES for w in words):
            raise TypeError(f"op '{self.name}': saves={saves!r} must name only 'inputs' and/or 'output' "
                            "(space separated), or be empty")
        self.saves_inputs = "inputs" in words
        self.saves_output = "output" in words
        self.shape = shape
        self.check_shape = check_shape
        self.int_args = int_args
        self.method = method
        self.public = public
        self.doc = inspect.cleandoc(forward.__doc__ or "")
        # eval_str: an op module may use `from __future__ import annotations`, where annotations are strings
        params = inspect.signature(forward, eval_str=True).parameters.values()
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        self.args = [p.name for p in positional]
        self.variadic = any(p.kind is p.VAR_POSITIONAL for p in params)
        self.arity: int | None = None if self.variadic else len(self.args)
        # trailing tensor arguments with a default (None) may be left out, as torch's bias and weight
        # (a variadic op takes at least one tensor)
        self.min_arity = 1 if self.variadic else sum(1 for p in positional if p.default is p.empty)
        # kwarg -> (its type, its default or inspect.Parameter.empty when required)
        self.kwargs: dict[str, tuple[KwargType, Any]] = {}
        for p in params:
            if p.kind is p.KEYWORD_ONLY:
                ktype = kwarg_type(p.annotation)
                if ktype is None:
                    raise TypeError(f"op '{self.name}': kwarg '{p.name}' needs a KwargType annotation "
                                    "(Int, Axes, ..., or a Literal of strings)")
                self.kwargs[p.name] = (ktype, p.default)
        # torch spelling -> kwarg, derived from the one table of kwarg spellings
        self.kwarg_aliases = {alias: next(k for k in targets if k in self.kwargs)
                              for alias, targets in KWARG_ALIASES.items() if any(k in self.kwargs for k in targets)}
        self.required = tuple(k for k, (_, d) in self.kwargs.items() if d is inspect.Parameter.empty)
        # what a node's kwargs start from: every optional kwarg at its default (see complete_kwargs)
        self.defaults = {k: d for k, (_, d) in self.kwargs.items() if d is not inspect.Parameter.empty}
        # ops that `apply` may run on its short path: fixed arity, no required kwargs, no index arguments
        self.plain = self.arity in (1, 2) and self.min_arity == self.arity and not self.required \
            and not int_args and not check_shape
        # a broadcast result of inputs of one shape has that shape: the memory charge needs no shape rule then
        self.broadcasts = getattr(shape, "__name__", None) == "broadcast"
        # torch names some nodes by overload (sum over dims is SumBackward1): a callable picks the name
        # from the node's kwargs and inputs; the catalog shows its choice for default kwargs (inputs None)
        self.grad_fn_rule: GradFnRule | None = grad_fn if callable(grad_fn) else None
        named = grad_fn(dict(self.defaults), None) if callable(grad_fn) else grad_fn
        self.grad_fn: str = named or "".join(p.capitalize() for p in self.name.split("_")) + "Backward0"
        self._check_vjp(self.vjp)
        if self.batch_vjp is not self.vjp:
            self._check_vjp(self.batch_vjp)
        self.plain_vjp = self._plain_vjp()
        # the engine function of this op (variadic ops also take one list); set by forward dispatch
        self.function: Callable[..., Tensor] = _not_bound

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name in _REFIT and "plain_vjp" in self.__dict__:  # a rule replaced later (a test, a patch) takes effect
            object.__setattr__(self, "plain_vjp", self._plain_vjp())

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        return self.function(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<op {self.name}>"

    def _check_vjp(self, vjp: tuple[VjpRule | None, ...] | VjpRule | None) -> None:
        """Every rule must accept (F, g, ans, *inputs, **complete kwargs): checked here, not at backward."""
        if vjp is None:
            return
        arity = 1 if self.arity is None else self.arity
        call = (None, None, None) + (None,) * arity
        kwargs = dict.fromkeys(self.kwargs)
        rules: list[Any]  # as declared: checked below
        if self.variadic:
            rules = [vjp]
        else:
            if not isinstance(vjp, tuple) or len(vjp) != self.arity:
                raise TypeError(f"op '{self.name}': vjp must be a tuple of {self.arity} rule(s), one per input "
                                "(None where there is no gradient)")
            rules = [r for r in vjp if r is not None]
        for rule in rules:
            try:
                inspect.signature(rule).bind(*call, **kwargs)
            except TypeError as e:
                want = ", ".join(["F", "g", "ans", *(self.args or ["*inputs"]), *self.kwargs])
                raise TypeError(f"op '{self.name}': vjp rule {getattr(rule, '__name__', rule)!r} must take "
                                f"({want}): {e}") from None

    @property
    def shown_args(self) -> list[str]:
        """The positional arguments as the catalog writes them: optional ones as "bias=null"."""
        return [a if i < self.min_arity else a + "=null" for i, a in enumerate(self.args)]

    @property
    def differentiable(self) -> bool:
        return self.vjp is not None

    def check_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        clean = {}
        for k, v in kwargs.items():
            if k in self.kwarg_aliases and k not in self.kwargs:
                spelled, k = k, self.kwarg_aliases[k]
                if k in kwargs or k in clean:
                    raise OpError(f"'{self.name}' got kwarg '{k}' twice (also as '{spelled}')")
            if k not in self.kwargs:
                known = ", ".join(self.kwargs) or "none"
                raise OpError(f"'{self.name}' got an unknown kwarg '{k}' (known: {known})")
            try:
                clean[k] = self.kwargs[k][0].check(v)
            except ValueError as e:
                raise OpError(f"'{self.name}' kwarg '{k}' {e} (got {_short(v)})") from None
        return clean

    def complete_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Checked kwargs with every missing optional one at its default, in declaration order."""
        if len(kwargs) == len(self.kwargs):
            return kwargs
        return {**self.defaults, **kwargs}

    def describe(self) -> dict[str, Any]:
        """The op's catalog entry: how to call it, as plain lists, dicts and strings."""
        return {
            "name": self.name,
            "arity": "variadic" if self.variadic else self.arity,
            "args": ["*" + self.args[0]] if self.variadic and self.args else
                    (["*tensors"] if self.variadic else self.shown_args),
            "kwargs": [{"name": k, "type": t.name, "required": d is inspect.Parameter.empty,
                        "default": None if d is inspect.Parameter.empty else _plain(d),
                        "aliases": [a for a, target in self.kwarg_aliases.items() if target == k]}
                       for k, (t, d) in self.kwargs.items()],
            "differentiable": self.differentiable,
            "grad_fn": self.grad_fn if self.differentiable else None,
            "method": self.method,
            "doc": self.doc,
            "aliases": list(self.aliases),
            "family": self.family,
            "torch": self.torch,
        }

    def _plain_vjp(self) -> Callable[[Any, Any, Node], Sequence[Any]]:
        """`call_vjp` for a plain backward, fitted once to this op's declaration: for the common ops (one or
        two inputs, no kwargs) a closure without the general branches, which cost as much as a small
        tensor's numpy work when they run for every node of every backward; the general method otherwise.
        The `plain_vjp` property test in the engine's tests holds both to the same gradients."""
        vjp = self.vjp
        if type(vjp) is not tuple or len(vjp) > 2 or self.kwargs:
            return lambda F, g, node: self.call_vjp(F, g, node, False)
        if len(vjp) == 1:
            f = vjp[0]
            if f is None:
                return lambda F, g, node: (None,)
            if self.saves_inputs:
                def unary_saved(F: Any, g: Any, node: Node) -> tuple[Any]:
                    a = node.inputs[0]
                    return (f(F, g, node.out, a.data if type(a) is Tensor else a) if node.next[0] is not None
                            else None,)
                return unary_saved

            def unary(F: Any, g: Any, node: Node) -> tuple[Any]:
                return (f(F, g, node.out, node.inputs[0]) if node.next[0] is not None else None,)
            return unary
        fa, fb = vjp
        saves_inputs = self.saves_inputs

        def binary(F: Any, g: Any, node: Node) -> tuple[Any, Any]:
            a, b = node.inputs
            if saves_inputs:
                if type(a) is Tensor:
                    a = a.data
                if type(b) is Tensor:
                    b = b.data
            na, nb = node.next
            ans = node.out
            return (None if na is None or fa is None else fa(F, g, ans, a, b),
                    None if nb is None or fb is None else fb(F, g, ans, a, b))
        return binary

    def call_vjp(self, F: Any, g: Any, node: Node, create_graph: bool,
                 wanted: Sequence[bool] | None = None) -> Sequence[Any]:
        """The gradients for node's inputs (None where there is none); `wanted`, when given, says which
        inputs to compute them for (engine.grad needs only those that lead to its inputs); else every input
        that goes somewhere."""
        # what the node saved of its inputs (a node whose vjp runs holds them: a freed one is refused first)
        inputs: Any = node.inputs
        ans: Tensor | NDArray[Any] | None
        if create_graph:
            ans = None if node.out is None else Tensor._make(node.out, node)
        else:  # saved Tensors are read as arrays; a node that saved no inputs holds only their Meta
            if self.saves_inputs:  # unrolled: a comprehension is a function call of its own in this hot loop
                if len(inputs) == 1:
                    a = inputs[0]
                    inputs = (a.data if type(a) is Tensor else a,)
                elif len(inputs) == 2:
                    a, b = inputs
                    inputs = (a.data if type(a) is Tensor else a, b.data if type(b) is Tensor else b)
                else:
                    inputs = [x.data if type(x) is Tensor else x for x in inputs]
            ans = node.out
        vjp: Any = self.vjp  # a tuple of rules or, for a variadic op, one rule giving every gradient
        if wanted is not None:
            if type(vjp) is tuple:
                return tuple(None if not w or f is None else f(F, g, ans, *inputs, **node.kwargs)
                             for f, w in zip(vjp, wanted))
            return tuple(gi if w else None for gi, w in zip(vjp(F, g, ans, *inputs, **node.kwargs), wanted))
        if type(vjp) is tuple:  # one rule per input: compute only the gradients that go somewhere
            kw = node.kwargs
            if len(vjp) == 1:  # unrolled for one and two inputs: this runs once per node of every backward
                f = vjp[0]
                return (None if node.next[0] is None or f is None else f(F, g, ans, *inputs, **kw),)
            if len(vjp) == 2:
                (fa, fb), (na, nb) = vjp, node.next
                return (None if na is None or fa is None else fa(F, g, ans, *inputs, **kw),
                        None if nb is None or fb is None else fb(F, g, ans, *inputs, **kw))
            return [None if n is None or f is None else f(F, g, ans, *inputs, **kw) for f, n in zip(vjp, node.next)]
        grads: Sequence[Any] = vjp(F, g, ans, *inputs, **node.kwargs)
        return grads

    def call_batch_vjp(self, F: Any, g: Any, node: Node, create_graph: bool,
                       wanted: Sequence[bool]) -> tuple[Any, ...]:
        """The vjp of a batched backward: g and every gradient carry one leading batch axis.

        `wanted[i]` says whether input i's gradient is needed (a batch of gradients for a tensor nobody
        asked about can be large). With no batch rule, the vjp runs once per row of g and the rows are
        stacked (torch's batched fallback): right for any op, only slower."""
        if self.batch_vjp is None:
            rows = [self.call_vjp(F, g[b], node, create_graph) for b in range(g.shape[0])]
            return tuple(None if gs[0] is None or not w else F.stack(*gs, axis=0) for gs, w in zip(zip(*rows), wanted))
        inputs: Any = node.inputs  # (as in call_vjp)
        ans: Tensor | NDArray[Any] | None
        if not create_graph:
            if self.saves_inputs:
                inputs = [x.data if type(x) is Tensor else x for x in inputs]
            ans = node.out
        else:
            ans = None if node.out is None else Tensor._make(node.out, node)
        vjp: Any = self.batch_vjp  # (as in call_vjp)
        kw = node.kwargs
        if type(vjp) is tuple:
            return tuple(None if not w or f is None else f(F, g, ans, *inputs, **kw) for f, w in zip(vjp, wanted))
        grads = vjp(F, g, ans, *inputs, **kw)
        return tuple(gi if w else None for gi, w in zip(grads, wanted))


def _not_bound(*args: Any, **kwargs: Any) -> Tensor:
    raise RuntimeError("forward dispatch is not loaded: import engine")


def _plain(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


OPS: dict[str, OpDef] = {}
ALIASES: dict[str, str] = {}  # another spelling (PyTorch's, numpy's) -> op name
_FUNCTIONAL = ("nn", "activations")  # families whose PyTorch counterparts are in torch.nn.functional
_listeners: list[Callable[[OpDef], Any]] = []
_FAMILIES: dict[str, str] = {}  # module -> the family of the ops it declares next (see `family`)


def family(name: str) -> None:
    """Set the family (the catalog's and the docs' grouping) of the ops the calling module declares next."""
    _FAMILIES[sys._getframe(1).f_globals["__name__"]] = name


def _family_of(forward: Callable[..., Any]) -> str:
    # without a family() call, a module engine/ops_<family>.py names the family of its ops
    module = forward.__module__
    return _FAMILIES.get(module) or module.rpartition(".")[2].removeprefix("ops_").replace("_", " ")


def lookup(name: str) -> OpDef | None:
    """The public op called `name` or spelled so by an alias; None when there is none."""
    opdef = OPS.get(name) or OPS.get(ALIASES.get(name, ""))
    return opdef if opdef is not None and opdef.public else None


def on_register(listener: Callable[[OpDef], Any]) -> None:
    """Call listener(opdef) for every op declared so far and, from now on, for each op as it is declared:
    how the layers above the registry (dispatch, reverse mode, the binding step) keep their tables."""
    _listeners.append(listener)
    for opdef in list(OPS.values()):
        listener(opdef)


def close_ops(name: str) -> list[str]:
    """Public op names (and aliases) that look like `name`, for an unknown op's hint."""
    return difflib.get_close_matches(name, [n for n, o in OPS.items() if o.public] + list(ALIASES), n=3)


def op(*, vjp: tuple[VjpRule | None, ...] | VjpRule | None = None, grad_fn: str | GradFnRule | None = None,
       saves: str = "", shape: ShapeRule | None = None, method: bool = True, check_shape: bool = False,
       int_args: Sequence[int] = (), public: bool = True, aliases: Iterable[str] = (), family: str | None = None,
       torch: str | None = None, promote_0d: bool = False, batched: bool | tuple[VjpRule | None, ...] | VjpRule = False,
       jvp: str | None = None) -> Callable[[Callable[..., Any]], OpDef]:
    """Declare an op. The decorated function is its numpy forward; the declaration returns its OpDef,
    which applies the op when called.

    vjp is a tuple with one rule per input (None where there is no gradient), each
    `rule(F, g, ans, *inputs, **kwargs)`, or for variadic ops one rule returning a
    tuple. kwargs are complete (defaults filled in), so a rule names the ones it reads and
    takes the rest as `**_`. Rules are written with F's ops so the same rule runs on ndarrays or,
    under create_graph, on Tensors (which makes gradients differentiable).
    `saves` says what the vjp reads: "", "inputs", "output" or "inputs output".
    `shape(*shapes, **kwargs)` gives the result shape for ops that can grow.
    `grad_fn` is a name or `rule(kwargs, inputs) -> name` (inputs: the node's saved inputs or their Meta).
    `method`: the op is also a Tensor method (x.sum()); `public`: it is listed in the catalog.
    `aliases` are other spellings of the op (PyTorch's, numpy's); `torch` names its PyTorch counterpart
    (default torch.<name>, torch.nn.functional.<name> in the nn and activations families); `family`
    defaults to the one last set with `family(...)` in the op's module.
    `promote_0d`: 0-d float inputs take part in dtype promotion like the others (torch's losses).
    `batched` says how a batched backward (engine.grad(..., is_grads_batched=True)) runs the vjp, where g
    and the gradients carry leading batch axes: True when the vjp's rules handle them as they are
    (elementwise rules do; others read the batch axes off g), a tuple of batch rules of the vjp's form,
    or False: the vjp runs once per row (correct for any op, B times the work).
    `jvp` says how forward mode (engine.jvp) pushes tangents through the op: "linear" (the op applied to
    the tangents, saved values for its non-differentiable arguments), "bilinear" (one term per input: the
    op with that input's tangent in its place), "elementwise" (a diagonal Jacobian: each input's vjp rule
    applied to its tangent, summed), or None: the op's own vjp, differentiated with respect to its
    cotangent (right for any op, a few recorded ops of work).
    """

    def declare(forward: Callable[..., Any]) -> OpDef:
        opdef = OpDef(forward, vjp=vjp, grad_fn=grad_fn, saves=saves, shape=shape, method=method,
                      check_shape=check_shape, int_args=int_args, public=public, aliases=aliases,
                      family=family or _family_of(forward), torch=torch, promote_0d=promote_0d,
                      batched=batched, jvp=jvp)
        for n in opdef.aliases:
            if n in OPS or ALIASES.get(n, opdef.name) != opdef.name:
                raise TypeError(f"op '{opdef.name}': alias {n!r} is taken")
        if ALIASES.get(opdef.name):
            raise TypeError(f"op '{opdef.name}': the name is an alias of '{ALIASES[opdef.name]}'")
        for n in [a for a, target in ALIASES.items() if target == opdef.name]:  # a redeclared op's old aliases
            del ALIASES[n]
        OPS[opdef.name] = opdef
        ALIASES.update(dict.fromkeys(opdef.aliases, opdef.name))
        for listener in _listeners:
            listener(opdef)
        return opdef

    return declare
