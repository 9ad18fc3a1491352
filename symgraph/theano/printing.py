"""`theano.printing`: `debugprint`, `pprint` and `pydotprint` over `sg.debugprint`, `sg.pprint` and `sg.render`.

Example:
    >>> import symgraph.theano as theano
    >>> import symgraph.theano.tensor as T
    >>> x = T.dvector("x")
    >>> theano.printing.pprint(T.tanh(x) + 1)
    'tanh(x) + 1.0'
"""
import sys

from ..inspect import debugprint as _sg_debugprint
from ..inspect import pprint, render

__all__ = ["debugprint", "pprint", "pydotprint"]


def debugprint(obj, depth=-1, print_type=False, file=None, ids="CHAR", stop_on_name=False, done=None,
               print_storage=False, print_clients=False, used_ids=None):
    """Print the indented tree of a variable, a list of them or a compiled function (`sg.debugprint`).

    As in Theano, the tree goes to `file` (standard output when None) and `file` is returned, except for
    `file="str"`, which returns the text. Theano's layout arguments (`depth`, `print_type`, `ids`, ...)
    are accepted; symgraph always prints each node's op, dtype and static shape.

    Example:
        >>> import symgraph.theano as theano
        >>> import symgraph.theano.tensor as T
        >>> x = T.dvector("x")
        >>> print(theano.printing.debugprint(T.exp(x), file="str"))
        exp float64[?]
        └─ x float64[?]
    """
    if file == "str":
        return _sg_debugprint(obj)
    file = sys.stdout if file is None else file
    _sg_debugprint(obj, file=file)
    return file


def pydotprint(fct, outfile=None, format="png", **layout):
    """Draw a graph or compiled function to `outfile` with Graphviz (`sg.render`); layout arguments are
    accepted and ignored. Raises RuntimeError saying how to install Graphviz when it is missing.

    Example:
        >>> import symgraph.theano as theano
        >>> callable(theano.printing.pydotprint)
        True
    """
    return render(fct, outfile or f"symgraph.{format}")
