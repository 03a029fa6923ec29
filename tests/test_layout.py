"""The package's shape, checked from its source: imports only go one way (no cycles), nothing
outside the image kind's modules assumes images, and modules stay short enough to read."""
import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "tfgan_zoo"
# The kind adapters (the audio kind draws spectrogram pictures with the image kind's tools), the
# image data builders, the image model family and its feature extractors. Everything else
# must ask the run's kind.
IMAGE_MODULES = ("kinds/", "data/", "models/dcgan.py", "metrics/extractors.py", "augment.py")
MAX_LINES = 420  # "about 400"; a longer module says why in its docstring


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        name = "tfgan_zoo." + rel[:-3].replace("/", ".")
        yield name.removesuffix(".__init__"), rel, ast.parse(path.read_text())


def _imports(name, tree, known):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            # `from pkg import sub` imports the submodule where one exists, else a name of pkg.
            targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known
                       else node.module for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith("tfgan_zoo."):
                yield target


def test_no_import_cycles():
    parsed = list(modules())
    known = {name for name, _, _ in parsed}
    edges = {name: set(_imports(name, tree, known)) for name, _, tree in parsed}
    state, cycles = {}, []

    def visit(node, path):
        state[node] = "open"
        for nxt in edges[node]:
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for name in edges:
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def _code_strings_and_names(tree):
    """String constants that are not docstrings, and attribute/variable names."""
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                       ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings:
            yield node.value
        elif isinstance(node, ast.Attribute):
            yield f".{node.attr}"
        elif isinstance(node, ast.Name):
            yield node.id


def test_only_the_image_kind_names_image_things():
    offenders = []
    for _, rel, tree in modules():
        if rel.startswith(IMAGE_MODULES):
            continue
        for token in _code_strings_and_names(tree):
            lowered = token.lower()
            if token == "image" or ".png" in lowered or lowered == "png" or \
                    "resolution" in lowered or token == ".image":
                offenders.append(f"{rel}: {token!r}")
    assert not offenders, "image assumptions outside tfgan_zoo.kinds.image: " + ", ".join(
        offenders)


def test_modules_stay_short_or_say_why():
    long = []
    for _, rel, tree in modules():
        lines = len(PACKAGE.joinpath(rel).read_text().splitlines())
        if lines > MAX_LINES and "lines because" not in (ast.get_docstring(tree) or "").replace(
                "\n", " "):
            long.append(f"{rel}: {lines} lines")
    assert not long, "modules over about 400 lines with no reason in their docstring: " + \
        ", ".join(long)
