"""Linear algebra: `matmul` (the `@` operator), `tensordot` and `einsum` ops, and `dot`/`outer` built on them.

Shapes are checked while building: sizes that are statically known and must agree raise `sg.ShapeError`
naming the operation and both operand types. Output dtypes are NumPy's, found by running the NumPy
reference on tiny arrays. Gradients are products of the same kinds (matmul with transposes, tensordot,
einsum with permuted subscripts), so they can be differentiated again.

Example:
    >>> import symgraph as sg
    >>> a, b = sg.tensor("a", shape=(2, 3)), sg.tensor("b", shape=(3, 4))
    >>> (a @ b).type
    TensorType(float64, (2, 4))
"""
import functools
import string

import numpy as np

from ..errors import ShapeError
from ..graph.basic import as_variable
from ..graph.op import Op
from ..graph.type import TensorType, broadcast_static_shapes
from .elemwise import add, is_differentiable_dtype, multiply
from .shape import expand_dims, flatten, normalize_axis, squeeze, swapaxes, transpose

__all__ = ["matmul", "dot", "outer", "tensordot", "einsum"]


def _sizes_conflict(size_a, size_b) -> bool:
    return size_a is not None and size_b is not None and size_a != size_b


def sum_if_any(terms):
    """The sum of the terms that are not None (None when all are): contributions to a derivative.

    Example:
        >>> import symgraph as sg
        >>> sum_if_any([None, sg.constant(2.0), sg.constant(3.0)]).eval()
        array(5.)
    """
    present = [t for t in terms if t is not None]
    if not present:
        return None
    total = present[0]
    for term in present[1:]:
        total = add(total, term)
    return total


@functools.lru_cache(maxsize=None)
def _product_dtype(function, *dtypes) -> np.dtype:
    """The dtype NumPy's `function` gives on 1-d operands of `dtypes` (raises TypeError if undefined)."""
    return np.asarray(function(*(np.ones((1,), dtype=d) for d in dtypes))).dtype


def _checked_product_dtype(op_name, function, a, b):
    try:
        return _product_dtype(function, a.dtype, b.dtype)
    except TypeError as exc:
        raise TypeError(f"{op_name}: not defined for operands of types {a} and {b} ({exc})") from None


class MatMul(Op):
    """`np.matmul`: matrix products over the last two axes, batch axes broadcast, 1-d operands promoted."""

    @property
    def name(self):
        return "matmul"

    def output_types(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(f"matmul: operands must have at least one dimension, got types {a} and {b}")
        dtype = _checked_product_dtype("matmul", np.matmul, a, b)
        inner_a = a.shape[-1]
        inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if _sizes_conflict(inner_a, inner_b):
            raise ShapeError(
                f"matmul: operands of types {a} and {b} have mismatched contracted sizes {inner_a} and {inner_b}"
            )
        batch = broadcast_static_shapes(a.shape[:-2], b.shape[:-2], op_name="matmul", types=(a, b))
        rows = a.shape[-2:-1] if a.ndim >= 2 else ()
        columns = b.shape[-1:] if b.ndim >= 2 else ()
        return [TensorType(dtype, batch + rows + columns)]

    def perform(self, a, b):
        return np.matmul(a, b)

    def pullback(self, inputs, outputs, output_grads):
        a, b = inputs
        (gz,) = output_grads
        if gz is None:
            return [None, None]
        if a.ndim <= 2 and b.ndim <= 2 and 1 in (a.ndim, b.ndim):
            return _vector_product_pullback(a, b, gz)
        # Promote 1-d operands to matrices as matmul does, apply the matrix rule, then drop the added axes.
        if b.ndim == 1:
            gz = expand_dims(gz, -1)
        if a.ndim == 1:
            gz = expand_dims(gz, -2)
        a_matrix = expand_dims(a, 0) if a.ndim == 1 else a
        b_matrix = expand_dims(b, -1) if b.ndim == 1 else b
        grad_a = grad_b = None
        if is_differentiable_dtype(a.dtype):
            grad_a = matmul(gz, swapaxes(b_matrix, -1, -2))
            grad_a = squeeze(grad_a, -2) if a.ndim == 1 else grad_a
        if is_differentiable_dtype(b.dtype):
            grad_b = matmul(swapaxes(a_matrix, -1, -2), gz)
            grad_b = squeeze(grad_b, -1) if b.ndim == 1 else grad_b
        return [grad_a, grad_b]

    def pushforward(self, inputs, outputs, tangents):
        a, b = inputs
        ta, tb = tangents
        return [sum_if_any([None if ta is None else matmul(ta, b), None if tb is None else matmul(a, tb)])]


class DiagonalMatrix(Op):
    """The square matrix with the 1-d input on its main diagonal and structural zeros elsewhere.

    `sg.jacobian` seeds its batched pullback with `diag(ones(n))` (the identity). The zeros are no
    numbers: the rewrites "diagonal_scaled" and "diagonal_product" turn `diag(d) * s` into `diag(d * s)` and
    `diag(d) @ B` into `d[:, None] * B`, so a Jacobian such as `diag(1 - y**2) @ W` costs O(n m), not
    O(n^2 m), and its entries never meet `0 * inf`. Run densely (`perform`), it is `np.diag(d)`.
    """

    keeps_structure = True  # constant folding would turn diag(ones(n)) into a dense identity

    @property
    def name(self):
        return "diag"

    def output_types(self, d):
        if d.ndim != 1:
            raise ShapeError(f"diag: the diagonal must be 1-d, got type {d}")
        return [TensorType(d.dtype, d.shape + d.shape)]

    def perform(self, d):
        return np.diag(d)

    def pullback(self, inputs, outputs, output_grads):
        (g,) = output_grads
        return [None if g is None else einsum("ii->i", g)]

    def pushforward(self, inputs, outputs, tangents):
        (t,) = tangents
        return [None if t is None else DiagonalMatrix()(t)]


def _vector_product_pullback(a, b, gz):
    """Pullback of a product with a 1-d operand, in direct vector forms: `W @ x` gives `gz @ W` for x and
    an outer product for W, which batch (for Jacobians) into one contiguous matrix product."""
    wants_a, wants_b = is_differentiable_dtype(a.dtype), is_differentiable_dtype(b.dtype)
    if a.ndim == 2:  # matrix @ vector
        grad_a = expand_dims(gz, -1) * b if wants_a else None
        grad_b = matmul(gz, a) if wants_b else None
    elif b.ndim == 2:  # vector @ matrix
        grad_a = matmul(b, gz) if wants_a else None
        grad_b = expand_dims(a, -1) * gz if wants_b else None
    else:  # vector @ vector
        grad_a = gz * b if wants_a else None
        grad_b = gz * a if wants_b else None
    return [grad_a, grad_b]


_matmul = MatMul()


def matmul(a, b):
    """Matrix product with NumPy's `matmul` rules (also the `@` operator).

    The last two axes are multiplied and leading (batch) axes broadcast; a 1-d operand is treated as
    a row (left) or column (right) vector and that axis is dropped from the result.

    Example:
        >>> import symgraph as sg
        >>> (sg.tensor("a", shape=(5, 2, 3)) @ sg.vector("v", shape=(3,))).type
        TensorType(float64, (5, 2))
    """
    return _matmul(as_variable(a), as_variable(b))


def _contraction_error(op_name, a, b, axes_a, axes_b):
    return ShapeError(
        f"{op_name}: operands of types {a.type} and {b.type} have mismatched sizes on the contracted "
        f"axes {tuple(axes_a)} and {tuple(axes_b)}"
    )


def dot(a, b):
    """NumPy's `dot`: scalars multiply, 1-d and 2-d operands use `matmul`, and N-d operands contract
    the last axis of `a` with the second-to-last axis of `b` (its only axis when `b` is 1-d).

    Example:
        >>> import symgraph as sg
        >>> sg.dot(sg.tensor("a", shape=(2, 3, 4)), sg.tensor("b", shape=(5, 4, 6))).type
        TensorType(float64, (2, 3, 5, 6))
    """
    a, b = as_variable(a), as_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    b_axis = 0 if b.ndim == 1 else b.ndim - 2
    if _sizes_conflict(a.type.shape[-1], b.type.shape[b_axis]):
        raise _contraction_error("dot", a, b, (a.ndim - 1,), (b_axis,))
    if a.ndim <= 2 and b.ndim <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=((a.ndim - 1,), (b_axis,)))


def outer(a, b):
    """Outer product of the flattened operands, like `np.outer`: `result[i, j] = a.flat[i] * b.flat[j]`.

    Example:
        >>> import symgraph as sg
        >>> sg.outer(sg.vector("u", shape=(2,)), sg.vector("v", shape=(3,))).type
        TensorType(float64, (2, 3))
    """
    return multiply(expand_dims(flatten(as_variable(a)), 1), flatten(as_variable(b)))


def _free_axes(ndim, contracted):
    return tuple(i for i in range(ndim) if i not in contracted)


def _inverse_permutation(labels):
    """The permutation that puts axes labelled `labels` (a permutation of 0..n-1) back in label order."""
    return tuple(labels.index(i) for i in range(len(labels)))


class TensorDot(Op):
    """`np.tensordot`: contract `axes_a` of the first operand with `axes_b` of the second (pairwise).

    The result's axes are the free axes of `a` then the free axes of `b`, each in their original order.
    """

    __props__ = ("axes_a", "axes_b")

    def __init__(self, axes_a, axes_b):
        self.axes_a = tuple(axes_a)
        self.axes_b = tuple(axes_b)

    @property
    def name(self):
        return "tensordot"

    def output_types(self, a, b):
        if any(axis >= a.ndim for axis in self.axes_a) or any(axis >= b.ndim for axis in self.axes_b):
            raise ShapeError(f"tensordot: axes {self.axes_a}, {self.axes_b} out of range for operands of types {a} and {b}")
        dtype = _checked_product_dtype("tensordot", np.dot, a, b)
        for axis_a, axis_b in zip(self.axes_a, self.axes_b):
            if _sizes_conflict(a.shape[axis_a], b.shape[axis_b]):
                raise ShapeError(
                    f"tensordot: operands of types {a} and {b} have mismatched sizes on the contracted "
                    f"axes {self.axes_a} and {self.axes_b}"
                )
        free_a = tuple(a.shape[i] for i in _free_axes(a.ndim, self.axes_a))
        free_b = tuple(b.shape[i] for i in _free_axes(b.ndim, self.axes_b))
        return [TensorType(dtype, free_a + free_b)]

    def perform(self, a, b):
        return np.tensordot(a, b, axes=(list(self.axes_a), list(self.axes_b)))

    def pullback(self, inputs, outputs, output_grads):
        a, b = inputs
        (gz,) = output_grads
        if gz is None:
            return [None, None]
        free_a = _free_axes(a.ndim, self.axes_a)
        free_b = _free_axes(b.ndim, self.axes_b)
        gz_free_a = tuple(range(len(free_a)))
        gz_free_b = tuple(range(len(free_a), len(free_a) + len(free_b)))
        grad_a = grad_b = None
        if is_differentiable_dtype(a.dtype):
            # Contracting gz with b over b's free axes leaves a's free axes, then b's contracted axes in
            # b's order: each stands for its partner axis of a.
            partner_of_b = dict(zip(self.axes_b, self.axes_a))
            labels = free_a + tuple(partner_of_b[axis] for axis in sorted(self.axes_b))
            grad_a = transpose(tensordot(gz, b, axes=(gz_free_b, free_b)), _inverse_permutation(labels))
        if is_differentiable_dtype(b.dtype):
            partner_of_a = dict(zip(self.axes_a, self.axes_b))
            labels = tuple(partner_of_a[axis] for axis in sorted(self.axes_a)) + free_b
            grad_b = transpose(tensordot(a, gz, axes=(free_a, gz_free_a)), _inverse_permutation(labels))
        return [grad_a, grad_b]

    def pushforward(self, inputs, outputs, tangents):
        a, b = inputs
        ta, tb = tangents
        return [sum_if_any([None if ta is None else self(ta, b), None if tb is None else self(a, tb)])]


def _tensordot_axes(axes, a, b):
    """NumPy's `axes` argument (an int N, or a pair of ints or of int sequences) as two tuples of axes."""
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, (bool, np.bool_)):
        if not 0 <= axes <= min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: axes={axes} does not fit operands of types {a.type} and {b.type}")
        return tuple(range(a.ndim - axes, a.ndim)), tuple(range(axes))
    try:
        axes_a, axes_b = axes
    except (TypeError, ValueError):
        raise TypeError(f"tensordot: axes must be an int or a pair of axis sequences, got {axes!r}") from None
    axes_a = (axes_a,) if isinstance(axes_a, (int, np.integer)) else tuple(axes_a)
    axes_b = (axes_b,) if isinstance(axes_b, (int, np.integer)) else tuple(axes_b)
    if len(axes_a) != len(axes_b):
        raise ValueError(f"tensordot: axes {axes_a!r} and {axes_b!r} have different lengths")
    axes_a = tuple(normalize_axis(axis, a.ndim, "tensordot", a.type) for axis in axes_a)
    axes_b = tuple(normalize_axis(axis, b.ndim, "tensordot", b.type) for axis in axes_b)
    if len(set(axes_a)) != len(axes_a) or len(set(axes_b)) != len(axes_b):
        raise ValueError(f"tensordot: repeated axis in {axes!r}")
    return axes_a, axes_b


def tensordot(a, b, axes=2):
    """Sum products over the given axes, like `np.tensordot`.

    `axes` is an int N (the last N axes of `a` with the first N of `b`) or a pair of sequences
    `(axes_of_a, axes_of_b)` contracted pairwise.

    Example:
        >>> import symgraph as sg
        >>> a, b = sg.tensor("a", shape=(3, 4, 5)), sg.tensor("b", shape=(4, 3, 2))
        >>> sg.tensordot(a, b, axes=([1, 0], [0, 1])).type
        TensorType(float64, (5, 2))
    """
    a, b = as_variable(a), as_variable(b)
    axes_a, axes_b = _tensordot_axes(axes, a, b)
    return TensorDot(axes_a, axes_b)(a, b)


_LABELS = string.ascii_letters


class EinsumSpec:
    """Parsed einsum subscripts with every ellipsis replaced by fresh letters.

    `inputs` holds one string of labels per operand (one label per axis) and `output` the result's labels.
    """

    __slots__ = ("inputs", "output")

    def __init__(self, inputs, output):
        self.inputs = tuple(inputs)
        self.output = output

    @property
    def subscripts(self) -> str:
        return f"{','.join(self.inputs)}->{self.output}"

    @classmethod
    def parse(cls, subscripts, ranks):
        """Parse NumPy einsum `subscripts` for operands of `ranks`, raising ValueError on bad input."""
        if not isinstance(subscripts, str):
            raise TypeError(f"einsum: subscripts must be a str, got {subscripts!r}")
        text = subscripts.replace(" ", "")
        inputs_text, arrow, output_text = text.partition("->")
        terms = inputs_text.split(",")
        if len(terms) != len(ranks):
            raise ValueError(f"einsum: subscripts {subscripts!r} name {len(terms)} operand(s), got {len(ranks)}")
        for term in terms + [output_text]:
            bad = set(term.replace("...", "")) - set(_LABELS)
            if bad or term.count("...") > 1:
                raise ValueError(f"einsum: invalid subscripts {subscripts!r}")
        ellipsis_ranks = []
        for term, rank in zip(terms, ranks):
            named = len(term.replace("...", ""))
            covered = rank - named if "..." in term else 0
            if covered < 0 or (named != rank and "..." not in term):
                raise ValueError(f"einsum: subscripts {term!r} do not match an operand of rank {rank}")
            ellipsis_ranks.append(covered)
        used = set(inputs_text) | set(output_text)
        fresh = "".join(label for label in _LABELS if label not in used)
        broadcast_rank = max(ellipsis_ranks, default=0)
        if broadcast_rank > len(fresh):
            raise ValueError(f"einsum: too many axes in {subscripts!r}")
        ellipsis_labels = fresh[:broadcast_rank]
        inputs = [
            term.replace("...", ellipsis_labels[broadcast_rank - covered:]) for term, covered in zip(terms, ellipsis_ranks)
        ]
        if not arrow:
            once = sorted(label for label in set("".join(inputs)) if "".join(inputs).count(label) == 1
                          and label not in ellipsis_labels)
            output = ellipsis_labels + "".join(once)
        else:
            if broadcast_rank and "..." not in output_text:
                raise ValueError(
                    f"einsum: the output of {subscripts!r} has no '...' for the operands' broadcast axes"
                )
            output = output_text.replace("...", ellipsis_labels)
        if len(set(output)) != len(output) or not set(output) <= set("".join(inputs)):
            raise ValueError(f"einsum: output subscripts of {subscripts!r} must be distinct labels of the operands")
        return cls(inputs, output)


@functools.lru_cache(maxsize=None)
def _einsum_dtype(subscripts, *dtypes) -> np.dtype:
    ranks = [len(term) for term in subscripts.partition("->")[0].split(",")]
    samples = [np.ones((1,) * rank, dtype=d) for rank, d in zip(ranks, dtypes)]
    return np.einsum(subscripts, *samples).dtype


class Einsum(Op):
    """`np.einsum` with explicit subscripts free of ellipses (`EinsumSpec.subscripts`), e.g. "ij,jk->ik".

    A size-1 axis broadcasts against the same label of size n in another operand, as in NumPy.
    """

    __props__ = ("subscripts",)

    def __init__(self, subscripts):
        self.subscripts = subscripts

    @property
    def name(self):
        return "einsum"

    @property
    def view_map(self):
        """A one-operand einsum (a transpose, a diagonal) may return a view of its operand."""
        return {} if "," in self.subscripts else {0: 0}

    @property
    def spec(self):
        inputs, _, output = self.subscripts.partition("->")
        return EinsumSpec(inputs.split(","), output)

    def output_types(self, *types):
        spec = self.spec
        if len(types) != len(spec.inputs):
            raise TypeError(f"einsum {self.subscripts!r}: expected {len(spec.inputs)} operand(s), got {len(types)}")
        try:
            dtype = _einsum_dtype(self.subscripts, *(t.dtype for t in types))
        except TypeError as exc:
            described = ", ".join(str(t) for t in types)
            raise TypeError(f"einsum: not defined for operands of types {described} ({exc})") from None
        sizes = {}
        for term, t in zip(spec.inputs, types):
            if len(term) != t.ndim:
                raise ShapeError(f"einsum {self.subscripts!r}: subscripts {term!r} do not match operand type {t}")
            for label, size in zip(term, t.shape):
                sizes.setdefault(label, []).append(size)
        static = {}
        for label, label_sizes in sizes.items():
            known = {n for n in label_sizes if n is not None and n != 1}
            if len(known) > 1:
                described = ", ".join(str(t) for t in types)
                raise ShapeError(f"einsum {self.subscripts!r}: operands of types {described} disagree on the size of "
                                 f"axis {label!r} ({sorted(known)})")
            static[label] = known.pop() if known else (None if None in label_sizes else 1)
        return [TensorType(dtype, tuple(static[label] for label in spec.output))]

    def perform(self, *operands):
        # Searching a contraction order pays off only from three operands; for fewer it costs more than it saves.
        return np.einsum(self.subscripts, *operands, optimize=len(operands) > 2)

    def pullback(self, inputs, outputs, output_grads):
        (gz,) = output_grads
        if gz is None:
            return [None] * len(inputs)
        spec = self.spec
        return [
            _einsum_operand_gradient(spec, inputs, position, gz) if is_differentiable_dtype(x.dtype) else None
            for position, x in enumerate(inputs)
        ]

    def pushforward(self, inputs, outputs, tangents):
        terms = []
        for position, tangent in enumerate(tangents):
            if tangent is not None:
                operands = list(inputs)
                operands[position] = tangent
                terms.append(self(*operands))
        return [sum_if_any(terms)]


def _einsum_operand_gradient(spec, inputs, position, gz):
    """d(sum(gz * einsum(...))) / d inputs[position], as an einsum of gz and the other operands.

    A label repeated in the operand (a diagonal) gets fresh labels tied to it by identity matrices; a
    label that appears nowhere else (summed within the operand) comes back as a size-1 axis, which the
    autodiff engine broadcasts.
    """
    from .creation import eye

    x = inputs[position]
    target = spec.inputs[position]
    terms = [spec.output] + [term for i, term in enumerate(spec.inputs) if i != position]
    operands = [gz] + [operand for i, operand in enumerate(inputs) if i != position]
    fresh = iter(label for label in _LABELS if label not in "".join(spec.inputs))
    renamed = []
    for axis, label in enumerate(target):
        if label in target[:axis]:
            twin = next(fresh)
            terms.append(label + twin)
            size = x.type.shape[axis]
            operands.append(eye(x.shape[axis] if size is None else size, dtype=x.dtype))
            label = twin
        renamed.append(label)
    available = set("".join(terms))
    kept = "".join(label for label in renamed if label in available)
    grad = Einsum(f"{','.join(terms)}->{kept}")(*operands)
    missing = tuple(axis for axis, label in enumerate(renamed) if label not in available)
    return expand_dims(grad, missing) if missing else grad


def einsum(subscripts, *operands):
    """Einstein summation like `np.einsum`: e.g. "ij,jk->ik" (matrix product), "ii->" (trace),
    "bij,bjk->bik" (batched product), "...i,...i->..." (ellipsis broadcasting).

    Without "->", the output is NumPy's implicit one: the labels that appear once, in alphabetical order.

    Example:
        >>> import symgraph as sg
        >>> a, b = sg.tensor("a", shape=(2, 3)), sg.tensor("b", shape=(3, 4))
        >>> sg.einsum("ij,jk->ik", a, b).type
        TensorType(float64, (2, 4))
    """
    operands = [as_variable(operand) for operand in operands]
    if not operands:
        raise ValueError("einsum: needs at least one operand")
    spec = EinsumSpec.parse(subscripts, [operand.ndim for operand in operands])
    return Einsum(spec.subscripts)(*operands)
