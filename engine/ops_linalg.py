"""Linear algebra ops: einsum, tensordot, matrix functions (inv, det, solve, ...), diagonals and triangles.

Declared like every op (see `ops.py`): numpy forwards, vjps written with F's ops so that gradients of
gradients work. einsum is the workhorse: tensordot and kron differentiate through einsums.
"""

import functools
import string
from collections.abc import Sequence
from typing import Annotated, Any

import numpy as np
from numpy.typing import NDArray

from .errors import LinAlgError, ShapeError
from .ops import _mT
from .registry import ArrayOrNumber, ArrayOrScalar, Int, KwargType, Shape, family, op

# ---------------------------------------------------------------------------- kwarg types


def _subscripts(v):
    if not isinstance(v, str):
        raise ValueError("must be a string such as 'ij,jk->ik'")
    s = v.replace(" ", "")
    if s.count("->") > 1 or any(c not in string.ascii_letters + ",.->" for c in s):
        raise ValueError("must hold letters, ',', '...' and one '->' at most")
    return s


def _tensordot_axes(v):
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        if len(v) != 2:
            raise ValueError("must be an integer or two lists of axes")
        return tuple(_axis_list(x) for x in v)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
        raise ValueError("must be a non-negative integer or two lists of axes")
    return int(v)


def _axis_list(x):
    items = x if isinstance(x, (list, tuple)) else [x]
    out = []
    for i in items:
        if isinstance(i, float) and i.is_integer():
            i = int(i)
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise ValueError("axes must be integers")
        out.append(int(i))
    return tuple(out)


Subscripts = Annotated[str, KwargType("string", _subscripts)]
TensordotAxes = Annotated[int | tuple[tuple[int, ...], tuple[int, ...]], KwargType("int | int[][2]", _tensordot_axes)]

# ---------------------------------------------------------------------------- einsum

family("linear algebra")


@functools.lru_cache(maxsize=512)
def _explicit(subscripts: str, shapes: tuple[tuple[int, ...], ...]) -> tuple[tuple[str, ...], str, dict[str, int]]:
    """Subscripts with '...' spelled out as letters and the output made explicit, and each letter's size.

    Raises ValueError with the operands' shapes when the subscripts do not fit them.
    """
    shown = " and ".join(str(tuple(s)) for s in shapes)
    lhs, arrow, out = subscripts.partition("->")
    terms: Sequence[str] = lhs.split(",")  # a tuple from the spelled-out '...' on
    if len(terms) != len(shapes):
        raise ValueError(f"einsum subscripts '{subscripts}' name {len(terms)} operand(s), got {len(shapes)} "
                         f"(shapes {shown})")
    used = set(subscripts) - set(",.->")
    spare = [c for c in string.ascii_letters if c not in used]
    ell = []
    for term, shape in zip(terms, shapes):
        if term.count("...") > 1 or term.replace("...", "").count("."):
            raise ValueError(f"einsum term '{term}' has a misplaced '.' (only one '...' per term)")
        letters = len(term.replace("...", ""))
        if "..." not in term and letters != len(shape) or "..." in term and letters > len(shape):
            raise ValueError(f"einsum term '{term}' does not fit an operand of shape {tuple(shape)}")
        ell.append(len(shape) - letters if "..." in term else 0)
    broad = spare[:max(ell, default=0)]
    terms = tuple(t.replace("...", "".join(broad[len(broad) - e:])) for t, e in zip(terms, ell))
    if arrow:
        if out.count("...") > 1 or out.replace("...", "").count("."):
            raise ValueError(f"einsum output '{out}' has a misplaced '.'")
        out = out.replace("...", "".join(broad))
        if len(set(out)) != len(out):
            raise ValueError(f"einsum output '{out}' repeats a letter")
        unknown = set(out) - set("".join(terms))
        if unknown:
            raise ValueError(f"einsum output letter '{sorted(unknown)[0]}' is not in any input")
    else:  # numpy's and torch's implicit output: broadcast dims, then the letters seen once, sorted
        counts: dict[str, int] = {}
        for c in "".join(terms):
            counts[c] = counts.get(c, 0) + 1
        out = "".join(broad) + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in broad))
    sizes: dict[str, int] = {}
    for term, shape in zip(terms, shapes):
        own: dict[str, int] = {}
        for c, n in zip(term, shape):
            if own.setdefault(c, n) != n:
                raise ValueError(f"einsum letter '{c}' repeats in '{term}' over sizes {own[c]} and {n}")
            if sizes.get(c, n) not in (1, n) and n != 1:
                raise ValueError(f"einsum letter '{c}' has sizes {sizes[c]} and {n} (shapes {shown})")
            sizes[c] = max(sizes.get(c, 1), n)
    return terms, out, sizes


def _einsum_shape(*shapes, subscripts):
    terms, out, sizes = _explicit(subscripts, tuple(tuple(s) for s in shapes))
    return tuple(sizes[c] for c in out)


def _einsum_name(kwargs, inputs):
    """torch runs einsum as permutes, sums and one batched product: the last of them names the node."""
    if inputs is None:
        return "ViewBackward0"
    terms, out, _ = _explicit(kwargs["subscripts"], tuple(tuple(x.shape) for x in inputs))
    summed = set("".join(terms)) - set(out)
    if len(terms) == 1:
        return "SumBackward1" if summed else "PermuteBackward0"
    return "ViewBackward0" if summed else "MulBackward0"


def _einsum_grads(F, g, operands, terms, out):
    return tuple(_operand_grad(F, g, operands, terms, out, k) for k in range(len(operands)))


def _operand_grad(F, g, operands, terms, out, k):
    """Operand k's gradient: an einsum of g with the other operands, then broadcast over letters that only
    this operand sums and spread onto the diagonals of letters it repeats."""
    term, x = terms[k], operands[k]
    others = [(t, y) for j, (t, y) in enumerate(zip(terms, operands)) if j != k]
    seen = set(out).union(*[t for t, _ in others])
    uniq = "".join(dict.fromkeys(term))
    keep = "".join(c for c in uniq if c in seen)
    h = F.einsum(g, *[y for _, y in others], subscripts=",".join([out] + [t for t, _ in others]) + "->" + keep)
    own = dict(zip(term, np.shape(x)))
    full = [max(h.shape[keep.index(c)], own[c]) if c in keep else own[c] for c in uniq]
    if keep != uniq or list(h.shape) != [n for n, c in zip(full, uniq) if c in keep]:
        h = F.broadcast_to(F.reshape(h, shape=[h.shape[keep.index(c)] if c in keep else 1 for c in uniq]),
                           shape=full)
    if uniq != term:  # "ii": the gradient lives on the diagonal, placed there by an identity
        spare = iter(c for c in string.ascii_letters if c not in set(term) | seen)
        fresh, eyes, eye_terms = "", [], []
        for i, c in enumerate(term):
            if c in term[:i]:
                d = next(spare)
                fresh += d
                eyes.append(np.eye(own[c], dtype=h.dtype))
                eye_terms.append(c + d)
            else:
                fresh += c
        h = F.einsum(h, *eyes, subscripts=",".join([uniq] + eye_terms) + "->" + fresh)
    return h


def _einsum_grad(F, g, ans, *operands, subscripts):
    terms, out, _ = _explicit(subscripts, tuple(np.shape(x) for x in operands))
    return _einsum_grads(F, g, operands, terms, out)


@op(vjp=_einsum_grad, saves="inputs", shape=_einsum_shape, check_shape=True, method=False, grad_fn=_einsum_name)
def einsum(*operands: ArrayOrNumber, subscripts: Subscripts) -> ArrayOrScalar:
    """Einstein summation as torch.einsum: einsum("ij,jk->ik", a, b); '...' broadcasts (and is summed when the
    output leaves it out); without '->' the output is the letters seen once, sorted.
    Also written einsum(a, b, subscripts=...)."""
    terms, out, _ = _explicit(subscripts, tuple(np.shape(x) for x in operands))
    # numpy's contraction planner (BLAS, pairwise order) costs ~40us: worth it for three operands or large ones
    plan = len(operands) > 2 or sum(np.size(x) for x in operands) > 4096
    return np.asarray(np.einsum(",".join(terms) + "->" + out, *operands, optimize=plan))


# ---------------------------------------------------------------------------- tensordot and kron


def _tensordot_terms(a, b, axes):
    """tensordot as einsum terms: the contracted axes of a and b share letters."""
    na, nb = len(a), len(b)
    pairs: list[tuple[Any, Any]]  # (axis of a, axis of b) to contract; an out-of-range one is None until refused
    if isinstance(axes, int):
        if axes > min(na, nb):
            raise ValueError(f"tensordot cannot contract {axes} axes of shapes {tuple(a)} and {tuple(b)}")
        pairs = list(zip(range(na - axes, na), range(axes)))
    else:
        xa, xb = axes
        if len(xa) != len(xb):
            raise ValueError(f"tensordot axes {list(xa)} and {list(xb)} differ in length")
        try:
            pairs = [(i % na if -na <= i < na else None, j % nb if -nb <= j < nb else None) for i, j in zip(xa, xb)]
        except ZeroDivisionError:
            pairs = [(None, None)] * len(xa)
        if any(i is None or j is None for i, j in pairs):
            raise ValueError(f"tensordot axes {list(xa)} and {list(xb)} are out of range for shapes "
                             f"{tuple(a)} and {tuple(b)}")
        if len({i for i, _ in pairs}) != len(pairs) or len({j for _, j in pairs}) != len(pairs):
            raise ValueError(f"tensordot axes {list(xa)} and {list(xb)} repeat an axis")
    for i, j in pairs:
        if a[i] != b[j]:
            raise ValueError(f"tensordot cannot contract axis {i} of shape {tuple(a)} with axis {j} of shape "
                             f"{tuple(b)} ({a[i]} != {b[j]})")
    letters = iter(string.ascii_letters)
    ta = [next(letters) for _ in range(na)]
    tb = [next(letters) for _ in range(nb)]
    for i, j in pairs:
        tb[j] = ta[i]
    contracted = {ta[i] for i, _ in pairs}
    out = [c for c in ta if c not in contracted] + [c for c in tb if c not in contracted]
    return "".join(ta), "".join(tb), "".join(out)


def _tensordot_shape(a, b, axes=2):
    ta, tb, out = _tensordot_terms(tuple(a), tuple(b), axes)
    sizes = dict(zip(ta, a)) | dict(zip(tb, b))
    return tuple(sizes[c] for c in out)


def _tensordot_grad(k):
    def rule(F, g, ans, a, b, axes):
        ta, tb, out = _tensordot_terms(np.shape(a), np.shape(b), axes)
        return _operand_grad(F, g, (a, b), (ta, tb), out, k)
    return rule


@op(vjp=(_tensordot_grad(0), _tensordot_grad(1)), saves="inputs", shape=_tensordot_shape, check_shape=True,
    grad_fn="ViewBackward0")
def tensordot(a: ArrayOrNumber, b: ArrayOrNumber, *, axes: TensordotAxes = 2) -> ArrayOrScalar:
    """Sum products over axes: the last `axes` of a with the first of b, or two lists of axes paired in order."""
    return np.tensordot(a, b, axes=axes)


def _kron_shape(a, b, **_):
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    return tuple(x * y for x, y in zip(a, b))


def _kron_grad(k):
    def rule(F, g, ans, a, b):
        n = max(a.ndim, b.ndim)
        sa, sb = (1,) * (n - a.ndim) + tuple(a.shape), (1,) * (n - b.ndim) + tuple(b.shape)
        # kron is an outer product with interleaved axes: g, read as (a0, b0, a1, b1, ...), contracts back
        blocks = F.reshape(g, shape=[s for pair in zip(sa, sb) for s in pair])
        ia, ib = string.ascii_letters[:n], string.ascii_letters[n:2 * n]
        gt = "".join(x + y for x, y in zip(ia, ib))
        if k == 0:
            return F.reshape(F.einsum(blocks, F.reshape(b, shape=sb), subscripts=f"{gt},{ib}->{ia}"), shape=a.shape)
        return F.reshape(F.einsum(blocks, F.reshape(a, shape=sa), subscripts=f"{gt},{ia}->{ib}"), shape=b.shape)
    return rule


@op(vjp=(_kron_grad(0), _kron_grad(1)),
    saves="inputs", shape=_kron_shape, check_shape=True, grad_fn="UnsafeViewBackward0")
def kron(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """Kronecker product: every element of a times the whole of b, blocks laid out as a's elements."""
    return np.kron(a, b)


# ---------------------------------------------------------------------------- matrix functions


def _square(name, shape):
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ShapeError(f"'{name}' takes square matrices (..., n, n), got shape {tuple(shape)}")


def _square_shape(name):
    def rule(a, **_):
        _square(name, a)
        return tuple(a)
    return rule


def _linalg(name, fn, *args):
    try:
        return fn(*args)
    except np.linalg.LinAlgError as e:
        why = "is not positive-definite" if name == "cholesky" else "is singular"
        raise LinAlgError(f"'{name}': a matrix of the input {why} ({e})") from None


def _float(a: ArrayOrNumber) -> NDArray[Any]:
    a = np.asarray(a)
    return a if a.dtype.kind == "f" else a.astype(np.float32)


@op(vjp=(lambda F, g, ans, a: -F.matmul(F.matmul(_mT(F, ans), g), _mT(F, ans)),), saves="output",
    shape=_square_shape("inv"), check_shape=True, grad_fn="LinalgInvExBackward0", aliases=("inverse",),
    torch="torch.linalg.inv")
def inv(a: ArrayOrNumber) -> ArrayOrScalar:
    """Inverse of square matrices (batched over leading axes); a singular matrix is an error."""
    _square("inv", np.shape(a))
    return _linalg("inv", np.linalg.inv, _float(a))


def _unsq2(F, x):
    return F.unsqueeze(F.unsqueeze(x, axis=-1), axis=-1)


def _det_grad(F, g, ans, a):
    # det(a) a^-T; where det(a) is exactly 0 this is 0, as torch's (the inverse of an identity stands in)
    singular = _unsq2(F, F.eq(ans, 0))
    safe = F.where(singular, np.eye(a.shape[-1], dtype=a.dtype), a)
    return _unsq2(F, g * ans) * _mT(F, F.inv(safe))


@op(vjp=(_det_grad,), saves="inputs output",
    shape=lambda a, **_: _square_shape("det")(a)[:-2], check_shape=True, grad_fn="LinalgDetBackward0",
    torch="torch.linalg.det")
def det(a: ArrayOrNumber) -> ArrayOrScalar:
    """Determinant of square matrices (batched); the gradient is det(a) a^-T, 0 where the determinant is 0
    (as torch's)."""
    _square("det", np.shape(a))
    return np.linalg.det(_float(a))


@op(vjp=(lambda F, g, ans, a: _unsq2(F, F.where(F.ne(ans, ans), 0.0, g)) * _mT(F, F.inv(a)),),
    saves="inputs output",
    shape=lambda a, **_: _square_shape("logdet")(a)[:-2], check_shape=True, grad_fn="WhereBackward0")
def logdet(a: ArrayOrNumber) -> ArrayOrScalar:
    """log(det(a)) as torch.logdet: NaN (with a zero gradient) where the determinant is negative, -inf where
    it is 0."""
    _square("logdet", np.shape(a))
    sign, logabs = np.linalg.slogdet(_float(a))
    return np.where(sign < 0, np.nan, logabs).astype(logabs.dtype, copy=False)


def _solve_is_vector(a, b):
    # torch's rule: b is a vector (or a batch of them) when it is 1-D or has a's shape without the last axis
    return len(b) == 1 or (len(b) == len(a) - 1 and tuple(b) == tuple(a[:-1]))


def _solve_shape(a, b, **_):
    _square("solve", a)
    n = a[-1]
    vector = _solve_is_vector(a, b)
    rows = b[-1] if vector else (b[-2] if len(b) >= 2 else None)
    if rows != n:
        raise ValueError(f"'solve' cannot solve a system of shape {tuple(a)} for b of shape {tuple(b)}")
    lead_b = tuple(b[:-1]) if vector else tuple(b[:-2])
    try:
        batch = np.broadcast_shapes(tuple(a[:-2]), lead_b)
    except ValueError:
        raise ValueError(f"batch dimensions of shapes {tuple(a)} and {tuple(b)} do not broadcast") from None
    return batch + ((n,) if vector else (n, b[-1]))


def _solve_grad_b(F, g, ans, a, b):
    if _solve_is_vector(a.shape, b.shape):
        return F.squeeze(F.solve(_mT(F, a), F.unsqueeze(g, axis=-1)), axis=-1)
    return F.solve(_mT(F, a), g)


def _solve_grad_a(F, g, ans, a, b):
    gb = _solve_grad_b(F, g, ans, a, b)
    if _solve_is_vector(a.shape, b.shape):
        return -(F.unsqueeze(gb, axis=-1) * F.unsqueeze(ans, axis=-2))
    return -F.matmul(gb, _mT(F, ans))


@op(vjp=(_solve_grad_a, _solve_grad_b), saves="inputs output", shape=_solve_shape, check_shape=True,
    grad_fn="LinalgSolveExBackward0", torch="torch.linalg.solve")
def solve(a: ArrayOrNumber, b: ArrayOrNumber) -> ArrayOrScalar:
    """x with a @ x = b, batched, as torch.linalg.solve: b is a vector (or a batch of them) when it is 1-D or
    has a's shape without the last axis, else matrices (..., n, k); a singular matrix is an error."""
    a, b = _float(a), _float(b)
    if _solve_is_vector(a.shape, b.shape):
        return _linalg("solve", np.linalg.solve, a, b[..., None])[..., 0]
    return _linalg("solve", np.linalg.solve, a, b)


def _cholesky_grad(F, g, ans, a):
    # torch's rule: L^-H Phi(L^H gL) L^-1, Phi the lower triangle with its diagonal halved
    gl = F.tril(F.matmul(_mT(F, ans), g))
    gl = (gl + _mT(F, F.tril(gl, k=-1))) * 0.5
    x = F.solve(_mT(F, ans), gl)  # L^H x = gl
    return _mT(F, F.solve(_mT(F, ans), _mT(F, x)))  # y L = x


@op(vjp=(_cholesky_grad,), saves="output", shape=_square_shape("cholesky"), check_shape=True,
    grad_fn="LinalgCholeskyExBackward0", torch="torch.linalg.cholesky")
def cholesky(a: ArrayOrNumber) -> ArrayOrScalar:
    """Lower Cholesky factor L of symmetric positive-definite matrices (a = L @ L^T; reads the lower triangle)."""
    _square("cholesky", np.shape(a))
    return _linalg("cholesky", np.linalg.cholesky, _float(a))


def _eigvalsh_grad(F, g, ans, a):
    v = F.eigvecsh(a)
    return F.matmul(v * F.unsqueeze(g, axis=-2), _mT(F, v))  # V diag(g) V^T


@op(vjp=(_eigvalsh_grad,), saves="inputs", shape=lambda a, **_: _square_shape("eigvalsh")(a)[:-1],
    check_shape=True, grad_fn="LinalgEighBackward0", torch="torch.linalg.eigvalsh")
def eigvalsh(a: ArrayOrNumber) -> ArrayOrScalar:
    """Eigenvalues of symmetric matrices, ascending (reads the lower triangle)."""
    _square("eigvalsh", np.shape(a))
    return np.linalg.eigvalsh(_float(a))


def _eigvecsh_grad(F, g, ans, a):
    # torch's rule for eigenvectors of a symmetric matrix: V (skew(V^T gV) / (l_j - l_i)) V^T
    lam = F.eigvalsh(a)
    gap = F.unsqueeze(lam, axis=-2) - F.unsqueeze(lam, axis=-1)
    eye = np.eye(a.shape[-1], dtype=bool)
    vg = F.matmul(_mT(F, ans), g)
    skew = (vg - _mT(F, vg)) * 0.5
    inner = F.where(eye, 0.0, skew / F.where(eye, 1.0, gap))
    return F.matmul(F.matmul(ans, inner), _mT(F, ans))


@op(vjp=(_eigvecsh_grad,), saves="inputs output", method=False, public=False, grad_fn="LinalgEighBackward0")
def eigvecsh(a: ArrayOrNumber) -> ArrayOrScalar:
    """Eigenvectors of symmetric matrices as columns, in eigvalsh's order (the second derivative of eigvalsh)."""
    return np.linalg.eigh(_float(a))[1]


# ---------------------------------------------------------------------------- diagonals and triangles


def _diagonal_axes(shape, offset, axis1, axis2):
    nd = len(shape)
    if nd < 2:
        raise ShapeError(f"a diagonal needs at least 2 dimensions, got shape {tuple(shape)}")
    if not (-nd <= axis1 < nd and -nd <= axis2 < nd) or axis1 % nd == axis2 % nd:
        raise ShapeError(f"axes {axis1} and {axis2} are not two distinct axes of shape {tuple(shape)}")
    a1, a2 = axis1 % nd, axis2 % nd
    n = max(0, min(shape[a1] - max(-offset, 0), shape[a2] - max(offset, 0)))
    return a1, a2, n


def _diagonal_shape(a, offset=0, axis1=0, axis2=1):
    a1, a2, n = _diagonal_axes(a, offset, axis1, axis2)
    return tuple(s for i, s in enumerate(a) if i not in (a1, a2)) + (n,)


@op(vjp=(lambda F, g, ans, a, offset, axis1, axis2:
         F.diagonal_backward(g, shape=a.shape, offset=offset, axis1=axis1, axis2=axis2),),
    shape=_diagonal_shape, grad_fn="DiagonalBackward0")
def diagonal(a: ArrayOrNumber, *, offset: Int = 0, axis1: Int = 0, axis2: Int = 1) -> ArrayOrScalar:
    """The diagonal (offset above it when positive) of the axis1, axis2 planes, as a last axis (numpy.diagonal)."""
    _diagonal_axes(np.shape(a), offset, axis1, axis2)
    return np.diagonal(a, offset, axis1, axis2).copy()


@op(vjp=(lambda F, g, ans, gout, shape, offset, axis1, axis2:
         F.diagonal(g, offset=offset, axis1=axis1, axis2=axis2),),
    method=False, public=False, grad_fn="DiagonalBackwardBackward0")
def diagonal_backward(g: ArrayOrNumber, *, shape: Shape, offset: Int = 0, axis1: Int = 0,
                      axis2: Int = 1) -> ArrayOrScalar:
    """Zeros of shape with g on the diagonal (the gradient of diagonal)."""
    g = np.asarray(g)
    out = np.zeros(shape, dtype=g.dtype)
    a1, a2, n = _diagonal_axes(shape, offset, axis1, axis2)
    plane = np.moveaxis(out, (a1, a2), (-2, -1))  # a writable view
    i = np.arange(n)
    plane[..., i + max(-offset, 0), i + max(offset, 0)] = g
    return out


def _trace_name(kwargs, inputs):
    plain = inputs is None or inputs[0].ndim == 2 and not kwargs.get("offset") and \
        (kwargs.get("axis1", 0), kwargs.get("axis2", 1)) in ((0, 1), (-2, -1), (0, -1), (-2, 1))
    return "TraceBackward0" if plain else "SumBackward1"  # torch: trace, or diagonal(...).sum(-1)


def _trace_grad(F, g, ans, a, offset, axis1, axis2):
    n = _diagonal_axes(a.shape, offset, axis1, axis2)[2]
    diag = F.broadcast_to(F.unsqueeze(g, axis=-1), shape=tuple(np.shape(g)) + (n,))
    return F.diagonal_backward(diag, shape=a.shape, offset=offset, axis1=axis1, axis2=axis2)


@op(vjp=(_trace_grad,), shape=lambda a, **kw: _diagonal_shape(a, **kw)[:-1], grad_fn=_trace_name)
def trace(a: ArrayOrNumber, *, offset: Int = 0, axis1: Int = 0, axis2: Int = 1) -> ArrayOrScalar:
    """Sum of the diagonal (numpy.trace: over axes axis1, axis2, offset above the diagonal when positive)."""
    _diagonal_axes(np.shape(a), offset, axis1, axis2)
    return np.trace(a, offset, axis1, axis2)


def _diag_shape(a, k=0):
    if len(a) == 1:
        return (a[0] + abs(k),) * 2
    if len(a) == 2:
        return _diagonal_shape(a, offset=k)
    raise ValueError(f"'diag' takes a 1-D or 2-D tensor, got shape {tuple(a)}")


def _diag_grad(F, g, ans, a, k):
    if a.ndim == 1:
        return F.diagonal(g, offset=k)
    return F.diagonal_backward(g, shape=a.shape, offset=k)


@op(vjp=(_diag_grad,), shape=_diag_shape, check_shape=True,
    grad_fn=lambda kwargs, inputs: "DiagonalBackward0_copy" if inputs is not None and inputs[0].ndim == 2
    else "DiagEmbedBackward0")
def diag(a: ArrayOrNumber, *, k: Int = 0) -> ArrayOrScalar:
    """1-D: a square matrix with a on diagonal k; 2-D: its diagonal k (numpy.diag, torch.diag)."""
    out = np.diag(a, k)
    return out.copy() if np.ndim(a) == 2 else out


def _triangle_shape(name):
    def rule(a, **_):
        if len(a) < 2:
            raise ValueError(f"'{name}' takes matrices (at least 2-D), got shape {tuple(a)}")
        return tuple(a)
    return rule


@op(vjp=(lambda F, g, ans, a, k: F.tril(g, k=k),), shape=_triangle_shape("tril"), check_shape=True)
def tril(a: ArrayOrNumber, *, k: Int = 0) -> ArrayOrScalar:
    """The lower triangle of the last two axes (on and below diagonal k); zeros elsewhere."""
    return np.tril(a, k)


@op(vjp=(lambda F, g, ans, a, k: F.triu(g, k=k),), shape=_triangle_shape("triu"), check_shape=True)
def triu(a: ArrayOrNumber, *, k: Int = 0) -> ArrayOrScalar:
    """The upper triangle of the last two axes (on and above diagonal k); zeros elsewhere."""
    return np.triu(a, k)


