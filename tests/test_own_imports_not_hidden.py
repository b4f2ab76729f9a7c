"""No import of our own modules sits inside `try/except ImportError`: a broken module must fail loudly.

Such a guard turned any error raised while importing the module (a typo, a bad name, an import
cycle) into a quiet fallback: a page without its snapshot, a health check naming the wrong key.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "reviewqueue"


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    caught = handler.type
    names = caught.elts if isinstance(caught, ast.Tuple) else [caught]
    return any(isinstance(name, ast.Name) and name.id in ("ImportError", "ModuleNotFoundError") for name in names)


def _imports_our_own(statements: list[ast.stmt]) -> bool:
    for node in (n for statement in statements for n in ast.walk(statement)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("reviewqueue"):
            return True
        if isinstance(node, ast.Import) and any(alias.name.startswith("reviewqueue") for alias in node.names):
            return True
    return False


def hidden_imports() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (
                isinstance(node, ast.Try)
                and any(_catches_import_error(h) for h in node.handlers if h.type is not None)
                and _imports_our_own(node.body)
            ):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return found


def test_no_import_of_our_own_modules_is_guarded_by_except_import_error():
    assert hidden_imports() == []
