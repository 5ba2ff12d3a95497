"""What the grader reads from a module's tree without running it: functions, names, imports."""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Analysis:
    """The names a module defines and imports."""

    defined_functions: frozenset[str]
    """As Submission.defined_functions: top-level `def`s, through `if`, `try` and `with`."""
    top_level_names: frozenset[str]
    """As Submission.top_level_names: every name bound at that level."""
    imported_modules: frozenset[str]
    """As Submission.imported_modules: top-level packages imported outside a main guard."""
    functions_anywhere: frozenset[str]
    """Every `def` in the module, nested ones included: for the hint when one is in the wrong place."""


def analyse(tree: ast.Module) -> Analysis:
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    return Analysis(
        defined_functions=frozenset(node.name for node in _module_level(tree.body) if isinstance(node, functions)),
        top_level_names=_top_level_names(tree),
        imported_modules=_imported_modules(tree),
        functions_anywhere=frozenset(node.name for node in ast.walk(tree) if isinstance(node, functions)),
    )


def missing_function_notes(analysis: Analysis, expected: Sequence[str]) -> tuple[str, ...]:
    """A note for each name in `expected` that the module does not bind at the top level."""
    notes = []
    for name in dict.fromkeys(expected):
        if name in analysis.top_level_names:
            continue
        note = f"Your code does not define `{name}` at the top level, so the checks that call it score zero."
        if name in analysis.functions_anywhere:
            note += (
                f" There is a `def {name}` inside another block (a function, a class or "
                '`if __name__ == "__main__":`); move it to the left margin so that the grader can call it.'
            )
        elif close := difflib.get_close_matches(name, sorted(analysis.top_level_names), n=1):
            note += f" Did you mean `{close[0]}`? The name must match exactly."
        notes.append(note)
    return tuple(notes)


def _top_level_names(tree: ast.Module) -> frozenset[str]:
    names = set()
    for node in _module_level(tree.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(_bound_names(targets))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return frozenset(names)


def _imported_modules(tree: ast.Module) -> frozenset[str]:
    found = set()
    # Code under `if __name__ == "__main__":` never runs when the grader imports the file,
    # so a student comparing against scipy there is not using it.
    graded = [node for node in tree.body if not (isinstance(node, ast.If) and _is_main_guard(node.test))]
    for node in (inner for top in graded for inner in ast.walk(top)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            name = node.args[0]
            literal = name.value if isinstance(name, ast.Constant) and isinstance(name.value, str) else ""
            if literal and not literal.startswith("."):
                found.add(literal.split(".")[0])
    return frozenset(found)


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements that run when the module is imported, through `if`, `try` and `with` blocks.

    A `def` under `try:` or `if USE_GPU:` is still a module attribute after import; one under
    `if __name__ == "__main__":` is not, and checks reach the student's functions by importing.
    """
    for node in body:
        yield node
        if isinstance(node, ast.If) and not _is_main_guard(node.test):
            yield from _module_level(node.body)
            yield from _module_level(node.orelse)
        elif isinstance(node, (ast.Try, ast.TryStar)):
            handlers = [handler.body for handler in node.handlers]
            for block in (node.body, *handlers, node.orelse, node.finalbody):
                yield from _module_level(block)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            yield from _module_level(node.body)


def _is_main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(value, ast.Constant) and value.value == "__main__" for value in test.comparators)
    )


def _bound_names(targets: list[ast.expr]) -> set[str]:
    names = set()
    for target in targets:
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            names.update(_bound_names(target.elts))
        elif isinstance(target, ast.Starred):
            names.update(_bound_names([target.value]))
    return names


def _is_dynamic_import(func: ast.expr) -> bool:
    """`__import__`, `importlib.import_module`, `importlib.__import__`, or `import_module` imported bare."""
    if isinstance(func, ast.Name):
        return func.id in ("__import__", "import_module")
    return (
        isinstance(func, ast.Attribute)
        and func.attr in ("import_module", "__import__")
        and isinstance(func.value, ast.Name)
        and func.value.id == "importlib"
    )
