"""The package's shape: one direction of import between layers, no cycles, no hidden function-level imports.

Layers, lowest first: core <- ops <- data <- models <- studies (cnn, deform, nerf; never each other) <- report
<- demo <- cli. A module may import its own layer or lower ones at module level; a function-level import is
allowed for a third-party package with a comment that says why it is lazy, and in a command module (``cli.py``)
for its own package's runner (the handler imports it, so ``--help`` and argument errors need no torch). Lazy
package namespaces (``lazy_exports``) may only name modules of their own layer or lower ones.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
LAYERS = {"core": 0, "ops": 1, "data": 2, "models": 3, "cnn": 4, "deform": 4, "nerf": 4, "report": 5, "demo": 6,
          "cli": 7}
STUDIES = {"cnn", "deform", "nerf"}


def module_files(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every .py under ``root/package``."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module an import of ``name`` loads (``a.b.c`` may be a module or a name inside ``a.b``)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(path: Path, package: str, modules: dict[str, Path]) -> list[tuple[str, int, bool, str]]:
    """(imported module, line, module_level, source line) for every import statement in ``path``."""
    tree = ast.parse(path.read_text())
    lines = path.read_text().splitlines()
    found = []

    def visit(node: ast.AST, module_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside_def = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    found.append((alias.name, child.lineno, module_level, lines[child.lineno - 1]))
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                for alias in child.names:
                    full = f"{child.module}.{alias.name}"
                    target = full if _resolve(full, modules) == full else child.module
                    found.append((target, child.lineno, module_level, lines[child.lineno - 1]))
            visit(child, module_level and not inside_def and not isinstance(child, ast.ClassDef))

    visit(tree, True)
    return found


def layer_of(module: str, package: str) -> tuple[int, str]:
    parts = module.split(".")
    if len(parts) == 1:  # the package itself: imports only core
        return 0, "core"
    top = parts[1]
    return LAYERS[top], top


def problems(root: Path, package: str) -> list[str]:
    """Every layer violation, study-to-study import, unexplained lazy import and cycle in ``root/package``."""
    modules = module_files(root, package)
    out, graph = [], {m: set() for m in modules}
    for mod, path in modules.items():
        src_layer, src_top = layer_of(mod, package)
        for name, line, module_level, text in imports_of(path, package, modules):
            where = f"{path.relative_to(root)}:{line}"
            if name.split(".")[0] != package:
                if not module_level and "#" not in text:
                    out.append(f"{where}: function-level import of {name} without a comment saying why")
                continue
            target = _resolve(name, modules)
            if target is None:
                out.append(f"{where}: imports unknown module {name}")
                continue
            dst_layer, dst_top = layer_of(target, package)
            if not module_level and mod.endswith(".cli") and dst_top == src_top and mod != f"{package}.cli":
                continue  # a command module importing its runner in the handler: not a start-up dependency
            graph[mod].add(target)
            if not module_level:
                out.append(f"{where}: function-level import of {target} (neuralens modules import at the top)")
                continue
            if dst_layer > src_layer:
                out.append(f"{where}: {mod} (layer {src_top}) imports {target} from the higher layer {dst_top}")
            elif dst_top != src_top and src_top in STUDIES and dst_top in STUDIES:
                out.append(f"{where}: study {src_top} imports study {dst_top}")
    out += lazy_problems(root, package, modules)
    out += [f"import cycle: {' -> '.join(c)}" for c in cycles(graph)]
    return out


def lazy_problems(root: Path, package: str, modules: dict[str, Path]) -> list[str]:
    """A ``lazy_exports(__name__, {...})`` mapping must name existing modules of its own layer or lower ones."""
    out = []
    for mod, path in modules.items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "lazy_exports"):
                continue
            mapping = ast.literal_eval(node.args[1])
            src_layer, src_top = layer_of(mod, package)
            for name, target in mapping.items():
                if target not in modules:
                    out.append(f"{path.relative_to(root)}: lazy member {name} names unknown module {target}")
                    continue
                dst_layer, dst_top = layer_of(target, package)
                if dst_layer > src_layer or (dst_top != src_top and src_top in STUDIES and dst_top in STUDIES):
                    out.append(f"{path.relative_to(root)}: lazy member {name} comes from {target} (layer {dst_top})")
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component larger than one module (or a self-import)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                found.append([*sorted(comp), sorted(comp)[0]])

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return found


def test_neuralens_has_no_cycles_and_imports_only_downwards() -> None:
    assert problems(SRC, "neuralens") == []


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def test_the_checker_finds_planted_cycles_upward_and_lazy_imports(tmp_path: Path) -> None:
    _write(tmp_path, {
        "neuralens/__init__.py": "",
        "neuralens/core/__init__.py": "",
        "neuralens/core/a.py": "from neuralens.models.m import f\n",            # upwards
        "neuralens/models/__init__.py": "",
        "neuralens/models/m.py": "def f():\n    from neuralens.core import a\n",  # lazy + closes a cycle
        "neuralens/cnn/__init__.py": "",
        "neuralens/cnn/x.py": "import numpy\nfrom neuralens.nerf import y\n\n\ndef g():\n    import json\n",
        "neuralens/nerf/__init__.py": "",
        "neuralens/nerf/y.py": "from neuralens.cnn import x\n",
        "neuralens/nerf/cli.py": "def h():\n    from neuralens.nerf import y\n    from neuralens.cnn import x\n",
        "neuralens/nerf/runner.py": "",
        "neuralens/data/__init__.py": "from neuralens.core.lazy import lazy_exports\n"
                                      "__getattr__ = lazy_exports(__name__, {'f': 'neuralens.models.m'})\n",
    })
    found = problems(tmp_path, "neuralens")
    text = "\n".join(found)
    assert "higher layer models" in text
    assert "function-level import of neuralens.core.a" in text
    assert "function-level import of json without a comment" in text
    assert "study cnn imports study nerf" in text and "study nerf imports study cnn" in text
    assert sum(f.startswith("import cycle") for f in found) == 2
    assert "nerf/cli.py:2" not in text  # the handler's import of its own runner is allowed...
    assert "nerf/cli.py:3: function-level import of neuralens.cnn.x" in text  # ...another study's is not
    assert "lazy member f comes from neuralens.models.m" in text


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_every_layer_exists(layer: str) -> None:
    assert (SRC / "neuralens" / layer).exists() or (SRC / "neuralens" / f"{layer}.py").is_file()


def test_every_import_in_the_api_guide_works() -> None:
    """docs/api.md is what users copy: each of its import statements must run."""
    text = (SRC.parent / "docs" / "api.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```python")[1:]]
    statements = [node for b in blocks for node in ast.parse(b).body if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert len(statements) >= 6
    for node in statements:
        exec(compile(ast.Module([node], []), "docs/api.md", "exec"), {})
