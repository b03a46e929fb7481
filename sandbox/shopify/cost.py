"""GraphQL query cost, the way Shopify describes it (simplified).

* scalar and enum fields: 0
* object fields: 1 (+ their selection)
* connections (type name ends with "Connection"): 2 + first/last x cost of
  one node (node = 1 + its selection); pageInfo is free
* list fields with a ``first`` argument: first x (1 + selection)
* each top-level mutation field: 10

The *requested* cost uses the ``first``/``last`` arguments; the *actual* cost
walks the response data and counts the nodes really returned.
"""

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationType,
    get_named_type,
    value_from_ast,
)
from graphql.language import OperationDefinitionNode

MUTATION_COST = 10


def find_operation(document, operation_name=None):
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        for op in ops:
            if op.name and op.name.value == operation_name:
                return op
        return None
    return ops[0] if len(ops) == 1 else None


def _fragments(document):
    return {
        d.name.value: d for d in document.definitions if d.kind == "fragment_definition"
    }


class _CostWalker:
    def __init__(self, schema, document, variables):
        self.schema = schema
        self.fragments = _fragments(document)
        self.variables = variables or {}

    def _arg(self, field_def, node, name):
        for arg in node.arguments or ():
            if arg.name.value == name and name in field_def.args:
                try:
                    return value_from_ast(
                        arg.value, field_def.args[name].type, self.variables
                    )
                except Exception:  # noqa: BLE001 - bad args fail validation anyway
                    return None
        return None

    def _fields(self, parent, selection_set):
        """Yield (field_node, field_def, parent_type) incl. fragments."""
        if selection_set is None:
            return
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                if sel.name.value.startswith("__"):
                    continue
                fields = getattr(parent, "fields", {})
                if sel.name.value in fields:
                    yield sel, fields[sel.name.value], parent
            elif isinstance(sel, InlineFragmentNode):
                sub = parent
                if sel.type_condition:
                    sub = self.schema.get_type(sel.type_condition.name.value) or parent
                yield from self._fields(sub, sel.selection_set)
            elif isinstance(sel, FragmentSpreadNode):
                frag = self.fragments.get(sel.name.value)
                if frag:
                    sub = self.schema.get_type(frag.type_condition.name.value)
                    yield from self._fields(sub or parent, frag.selection_set)

    def selection_cost(self, parent, selection_set, data=None, actual=False):
        total = 0
        for node, field_def, _parent in self._fields(parent, selection_set):
            key = node.alias.value if node.alias else node.name.value
            value = None
            if actual:
                if not isinstance(data, dict) or key not in data:
                    continue
                value = data[key]
            total += self.field_cost(node, field_def, value, actual)
        return total

    def field_cost(self, node, field_def, value, actual):
        named = get_named_type(field_def.type)
        if not isinstance(
            named, (GraphQLObjectType, GraphQLInterfaceType, GraphQLUnionType)
        ):
            return 0
        if named.name.endswith("Connection"):
            return self._connection_cost(node, field_def, named, value, actual)
        if named.name == "PageInfo":
            return 0
        if actual:
            if value is None:
                return 0
            items = value if isinstance(value, list) else [value]
            return sum(
                1 + self.selection_cost(named, node.selection_set, item, True)
                for item in items
            )
        size = self._arg(field_def, node, "first")
        if size is None and "ids" in field_def.args:
            size = len(self._arg(field_def, node, "ids") or [])
        return (size or 1) * (1 + self.selection_cost(named, node.selection_set))

    def _connection_cost(self, node, field_def, conn_type, value, actual):
        if actual and value is None:
            return 0
        edge_type = conn_type.fields.get("edges")
        node_type = None
        if edge_type is not None:
            node_type = get_named_type(
                get_named_type(edge_type.type).fields["node"].type
            )
        per_node = 0
        node_items = []
        for sub, sub_def, _p in self._fields(conn_type, node.selection_set):
            key = sub.alias.value if sub.alias else sub.name.value
            if sub.name.value == "edges":
                for inner, _d, _pp in self._fields(
                    get_named_type(sub_def.type), sub.selection_set
                ):
                    if inner.name.value == "node":
                        if actual:
                            for edge in value.get(key) or []:
                                node_items.append((inner, edge.get(_alias(inner))))
                        else:
                            per_node += 1 + self.selection_cost(
                                node_type, inner.selection_set
                            )
            elif sub.name.value == "nodes":
                if actual:
                    for item in value.get(key) or []:
                        node_items.append((sub, item))
                else:
                    per_node += 1 + self.selection_cost(node_type, sub.selection_set)
        if actual:
            return 2 + sum(
                1 + self.selection_cost(node_type, n.selection_set, item, True)
                for n, item in node_items
                if item is not None
            )
        size = self._arg(field_def, node, "first") or self._arg(field_def, node, "last")
        return 2 + (size or 0) * per_node


def _alias(node):
    return node.alias.value if node.alias else node.name.value


def query_cost(schema, document, operation, variables=None, data=None):
    """Requested cost (data None) or actual cost (data = response data)."""
    walker = _CostWalker(schema, document, variables)
    if operation.operation == OperationType.MUTATION:
        count = sum(
            1 for _ in walker._fields(schema.mutation_type, operation.selection_set)
        )
        return MUTATION_COST * count
    root = schema.query_type
    if data is None:
        return walker.selection_cost(root, operation.selection_set)
    return walker.selection_cost(root, operation.selection_set, data, actual=True)
