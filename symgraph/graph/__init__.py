"""The graph IR: types, variables, apply nodes, the op protocol and traversals."""
from .basic import Apply, Constant, CreationSite, SharedVariable, Variable, apply_op, as_variable, constant, shared
from .op import Op
from .traversal import clients_map, graph_inputs, toposort
from .type import TensorType, as_dtype, broadcast_static_shapes
from .replace import clone_replace
from .fgraph import FunctionGraph
