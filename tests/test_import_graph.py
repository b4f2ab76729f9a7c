"""Imports run one way: no module of reviewqueue imports one that imports it back, and the
integration layer (reviewqueue/integrations/) never imports the review app.

Imports are read from the source with `ast`, at any depth: an import inside a function is still a
dependency, only a later one. Migrations are left out (Django loads them apart from the code).
"""

import ast
from pathlib import Path

import reviewqueue

PACKAGE_DIR = Path(reviewqueue.__file__).parent
ROOT = PACKAGE_DIR.parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, Path]:
    return {
        _module_name(path): path
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
        if "migrations" not in path.relative_to(PACKAGE_DIR).parts
    }


def _imported_names(module: str, path: Path) -> set[str]:
    """Every module name an import statement in the file names, relative ones made absolute.

    `from package import name` names both the package and package.name (name may be a submodule)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _import_graph() -> dict[str, set[str]]:
    sources = _sources()
    return {
        module: {name for name in _imported_names(module, path) if name in sources and name != module}
        for module, path in sources.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as the modules along it (first one repeated at the end), or None."""
    done, on_path, path = set(), set(), []

    def visit(module: str) -> list[str] | None:
        on_path.add(module)
        path.append(module)
        for imported in sorted(graph[module]):
            if imported in on_path:
                return [*path[path.index(imported) :], imported]
            if imported not in done and (found := visit(imported)):
                return found
        on_path.remove(module)
        path.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        if module not in done and (found := visit(module)):
            return found
    return None


def test_the_graph_is_read_from_every_module():
    graph = _import_graph()
    assert "reviewqueue.review.tasks" in graph
    assert "reviewqueue.review.ingest" in graph["reviewqueue.review.tasks"]


def test_no_module_imports_one_that_imports_it_back():
    cycle = _cycle(_import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


REVIEW = "reviewqueue.review"


def _names_review(name: str) -> bool:
    return name == REVIEW or name.startswith(REVIEW + ".")


def _review_named_by_string(path: Path) -> set[str]:
    """Dotted paths into review spelt as strings (importlib.import_module, import_string): an import all the same."""
    return {
        node.value
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _names_review(node.value)
    }


def _integration_modules_importing_review() -> dict[str, list[str]]:
    found = {}
    for module, path in _sources().items():
        if not module.startswith("reviewqueue.integrations."):
            continue
        named = {name for name in _imported_names(module, path) if _names_review(name)}
        if named := named | _review_named_by_string(path):
            found[module] = sorted(named)
    return found


def test_the_integration_layer_never_imports_the_review_app():
    """It hands events up through narrow interfaces instead: the MultiMail event table review fills from its
    AppConfig.ready(), the signal Intercom's notifications send (see docs/architecture.md)."""
    found = _integration_modules_importing_review()
    assert found == {}, "integrations/ imports review: " + "; ".join(
        f"{module} imports {', '.join(names)}" for module, names in found.items()
    )


def test_the_integration_layer_check_sees_function_local_and_package_imports(tmp_path, monkeypatch):
    """The check itself: an import inside a function, `from reviewqueue import review` and a string path all count."""
    sources = {
        "reviewqueue.integrations.x.local": "def handle():\n    from reviewqueue.review.models import Draft\n",
        "reviewqueue.integrations.x.package": "from reviewqueue import review\n",
        "reviewqueue.integrations.x.by_name": "ingest = import_string('reviewqueue.review.ingest')\n",
        "reviewqueue.integrations.x.clean": "from reviewqueue.routing.models import Mailbox\nREVIEWER = 'a reviewer'\n",
    }
    paths = {}
    for module, text in sources.items():
        path = tmp_path / f"{module.rpartition('.')[2]}.py"
        path.write_text(text)
        paths[module] = path
    monkeypatch.setattr(f"{__name__}._sources", lambda: paths)
    assert _integration_modules_importing_review() == {
        "reviewqueue.integrations.x.local": ["reviewqueue.review.models", "reviewqueue.review.models.Draft"],
        "reviewqueue.integrations.x.package": ["reviewqueue.review"],
        "reviewqueue.integrations.x.by_name": ["reviewqueue.review.ingest"],
    }


MAX_MODULE_LINES = 500  # issue 17: one module per concern; a module past this is split along its own seams


def test_no_module_is_over_the_line_limit():
    lines = {module: len(path.read_text().splitlines()) for module, path in _sources().items()}
    long = {module: n for module, n in lines.items() if n > MAX_MODULE_LINES}
    assert long == {}, f"modules over {MAX_MODULE_LINES} lines (split them along their seams): {long}"
