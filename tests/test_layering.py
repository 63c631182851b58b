"""The package's layering: no import cycle anywhere in src/mole (imports inside functions count), and the
config types import none of the components they configure."""
import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "mole"


def import_graph() -> dict[str, set[str]]:
    """module -> the mole modules it imports (a name imported from a package counts as that package's
    __init__ unless the name is a submodule)."""
    modules = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if package else parts)] = (path, package)
    graph = {}
    for name, (path, package) in modules.items():
        edges = graph.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if package else name.split(".")[:-1]
                    base = base[:len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    full = f"{target}.{alias.name}"
                    edges.add(full if full in modules else target)
            elif isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names)
        edges.intersection_update(modules)
        edges.discard(name)
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a path of modules, or None."""
    state, path = {}, []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None
    graph = import_graph()
    assert "mole.schedules.asynchronous" in graph["mole.schedules"]  # the finder sees real imports


def test_no_import_cycle_in_the_package():
    found = cycle(import_graph())
    assert found is None, "import cycle: " + " -> ".join(found)


def test_config_types_sit_below_the_components_they_configure():
    assert import_graph()["mole.config"] <= {"mole.validation", "mole.errors"}
