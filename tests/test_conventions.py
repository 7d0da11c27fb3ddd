"""The house style (docs/conventions.md), checked mechanically over the public API of io, phantom, data
and stats: keyword-only options, ``rng`` keyword-only and last, results serialise through AsDict, every
exported error is a NeocusError, no CLI flag in library strings, attributes created only in ``__init__``
(the phantom head: assigned only there); and over all of src/neocus: size pairs say their order in the
name, no function over 120 lines, no module over ~500 lines without a reason stated at its top."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

from neocus.errors import NeocusError
from neocus.results import AsDict

PACKAGES = ("neocus.io", "neocus.phantom", "neocus.data", "neocus.stats")
SRC = Path(__file__).resolve().parents[1] / "src" / "neocus"
MAX_FUNCTION_LINES = 120
MAX_MODULE_LINES = 500

# Optional *data* arguments that may stay positional (module.function.parameter: the reason).
POSITIONAL_DEFAULTS = {
    # y_true may be a ConfusionMatrix, then there are no predictions
    **{f"neocus.stats.proportions.{f}.y_pred": "a ConfusionMatrix replaces y_true, y_pred" for f in
       ("sensitivity", "specificity", "ppv", "npv", "accuracy", "f1_score", "binary_metrics")},
    # y_true may be a RocCurve, then there are no scores
    **{f"neocus.stats.thresholds.{f}.y_score": "a RocCurve replaces y_true, y_score" for f in
       ("youden_threshold", "threshold_for_sensitivity", "threshold_for_specificity")},
    "neocus.stats.readers.wilcoxon_signed_rank.second": "one-sample test when absent (like scipy.stats.wilcoxon)",
    "neocus.stats.roc.plot_roc.path": "the output file of a plot, like matplotlib's savefig",
    "neocus.io.dicom_guard.BoundedFile.read.size": "the file protocol's read(size), which pydicom calls positionally",
    "neocus.stats.report_tables.build_report.reads": "the optional second input file (READERS.csv), data like the first",
}

# Exported dataclasses that are inputs, not results (no to_dict needed).
INPUT_TYPES = {"neocus.stats.inputs.Predictions", "neocus.stats.inputs.ReaderReads", "neocus.stats.conditions.Condition"}


def _public_api():
    """(qualified name, object): what each package exports, every public name defined in its public
    modules, and the public methods of those classes. Qualified by the module that defines them."""
    seen = set()
    for pkg_name in PACKAGES:
        pkg = importlib.import_module(pkg_name)
        objs = [getattr(pkg, n) for n in getattr(pkg, "__all__", [])]
        for info in pkgutil.iter_modules(pkg.__path__):
            if not info.name.startswith("_"):
                mod = importlib.import_module(f"{pkg_name}.{info.name}")
                objs += [o for n, o in vars(mod).items() if not n.startswith("_") and getattr(o, "__module__", None) == mod.__name__]
        for obj in objs:
            obj = inspect.unwrap(obj) if hasattr(obj, "__wrapped__") else obj  # functools.cache / lru_cache wrappers
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or not obj.__module__.startswith("neocus.") or id(obj) in seen:
                continue
            seen.add(id(obj))
            yield f"{obj.__module__}.{obj.__qualname__}", obj
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if not attr.startswith("_") and inspect.isfunction(member):
                        yield f"{obj.__module__}.{obj.__qualname__}.{attr}", member


API = sorted({q: o for q, o in _public_api()}.items())
FUNCTIONS = [(q, o) for q, o in API if inspect.isfunction(o) and o.__module__.startswith("neocus.")]
CLASSES = [(q, o) for q, o in API if inspect.isclass(o) and o.__module__.startswith("neocus.")]


def test_the_walk_sees_the_api():
    names = {q for q, _ in API}
    assert {"neocus.stats.roc.roc_auc", "neocus.phantom.bmode.render_plane", "neocus.io.load_sweep", "neocus.data.splits.make_splits"} <= names
    assert len(FUNCTIONS) > 200 and len(CLASSES) > 80


def _params(fn) -> list[inspect.Parameter]:
    params = list(inspect.signature(fn).parameters.values())
    return params[1:] if params and params[0].name in ("self", "cls") else params


@pytest.mark.parametrize("qualname,fn", FUNCTIONS, ids=[q for q, _ in FUNCTIONS])
def test_rng_is_keyword_only_and_last(qualname, fn):
    params = _params(fn)
    for i, p in enumerate(params):
        if p.name == "rng" or (p.name == "seed" and i > 0):
            assert p.kind is p.KEYWORD_ONLY, f"{qualname}: {p.name} must be keyword-only"
            rest = [q.name for q in params[i + 1 :] if q.kind is not q.VAR_KEYWORD]
            assert not rest, f"{qualname}: {p.name} must be the last parameter, not before {rest}"


@pytest.mark.parametrize("qualname,fn", FUNCTIONS, ids=[q for q, _ in FUNCTIONS])
def test_options_are_keyword_only(qualname, fn):
    """A parameter with a default is an option: it comes after the bare ``*`` (data comes first)."""
    for p in _params(fn):
        if p.kind is p.POSITIONAL_OR_KEYWORD and p.default is not p.empty:
            assert f"{qualname}.{p.name}" in POSITIONAL_DEFAULTS, f"{qualname}: option {p.name!r} must be keyword-only"


@pytest.mark.parametrize("qualname,cls", CLASSES, ids=[q for q, _ in CLASSES])
def test_results_serialise_one_way(qualname, cls):
    """No hand-written to_dict / as_dict: results subclass AsDict; stats results all are."""
    if cls is AsDict:
        return
    assert "as_dict" not in dir(cls), f"{qualname}: as_dict is spelled to_dict (via neocus.results.AsDict)"
    if "to_dict" in vars(cls):
        pytest.fail(f"{qualname}: hand-written to_dict; subclass neocus.results.AsDict instead")
    if qualname.startswith("neocus.stats.") and dataclasses.is_dataclass(cls) and qualname not in INPUT_TYPES:
        assert issubclass(cls, AsDict), f"{qualname}: a stats result must subclass AsDict"
    if dataclasses.is_dataclass(cls) and issubclass(cls, AsDict):
        assert cls.__dataclass_params__.frozen, f"{qualname}: results are frozen dataclasses"


@pytest.mark.parametrize("qualname,cls", CLASSES, ids=[q for q, _ in CLASSES])
def test_exported_errors_are_neocus_errors(qualname, cls):
    if issubclass(cls, BaseException) and not issubclass(cls, Warning):
        assert issubclass(cls, NeocusError), f"{qualname}: an exported error must subclass NeocusError"


def test_each_package_exports_the_errors_it_raises():
    import neocus.data
    import neocus.io
    import neocus.stats

    assert issubclass(neocus.stats.StatsInputError, NeocusError)
    assert issubclass(neocus.io.InputFileError, NeocusError)
    assert issubclass(neocus.data.DatasetError, NeocusError)


def test_stats_tests_default_to_two_sided():
    for qualname, fn in FUNCTIONS:
        params = inspect.signature(fn).parameters
        for name, p in params.items():
            if name.startswith("alternative") and p.default is not p.empty:
                assert p.default == "two-sided", f"{qualname}: {name} defaults to {p.default!r}"


# ------------------------------------------------------------------------------------------------ sizes

MODULES = sorted(p for pkg in ("io", "phantom", "data", "stats") for p in (SRC / pkg).rglob("*.py"))
ALL_MODULES = sorted(SRC.rglob("*.py"))  # sizes and size names: every module of src/neocus


def _stated_reason(text: str) -> bool:
    """A long module says why near its top: a line of the docstring starting 'Size:'."""
    return any(line.strip().startswith("Size:") for line in text.splitlines()[:40])


@pytest.mark.parametrize("path", ALL_MODULES, ids=[str(p.relative_to(SRC)) for p in ALL_MODULES])
def test_module_and_function_sizes(path):
    text = path.read_text(encoding="utf-8")
    n_lines = len(text.splitlines())
    assert n_lines <= MAX_MODULE_LINES or _stated_reason(text), (
        f"{path.name} has {n_lines} lines: split it or state the reason at its top ('Size: ...')"
    )
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{path.name}: {node.name} is {length} lines (max {MAX_FUNCTION_LINES})"


def test_size_check_can_fail(tmp_path):
    long = tmp_path / "long.py"
    long.write_text('"""A module."""\n' + "x = 1\n" * (MAX_MODULE_LINES + 1))
    assert not _stated_reason(long.read_text(encoding="utf-8"))
    assert _stated_reason('"""A module.\n\nSize: one table of constants.\n"""\n')


# ------------------------------------------------------------------------------------ size names

ALWAYS_PAIRS = {"out_size", "frame_size", "default_out_size"}  # these names only ever held a pair
BARE_SIZE_NAMES = ALWAYS_PAIRS | {"size", "shape", "shapes", "image_size", "tile", "frame"}


def _pair_named_without_order(name: str, annotation: ast.expr | None) -> bool:
    """A name in BARE_SIZE_NAMES whose annotation is a pair (``tuple[int, int]``, maybe ``| None``)."""
    if name not in BARE_SIZE_NAMES:
        return False
    text = ast.unparse(annotation) if annotation is not None else ""
    return name in ALWAYS_PAIRS or "tuple[int, int]" in text or "tuple[float, float]" in text


def size_names_without_order(text: str) -> list[str]:
    """Public parameters and class fields that hold a size pair but do not say its order (``_hw`` / ``_wh``)."""
    bad = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
            a = node.args
            bad += [f"{node.name}({p.arg})" for p in a.posonlyargs + a.args + a.kwonlyargs if _pair_named_without_order(p.arg, p.annotation)]
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) and _pair_named_without_order(item.target.id, item.annotation):
                    bad.append(f"{node.name}.{item.target.id}")
    return bad


def test_size_name_check_can_fail():
    assert size_names_without_order("def render(x, *, out_size=None): ...") == ["render(out_size)"]
    assert size_names_without_order("class C:\n    size: tuple[int, int]\n") == ["C.size"]
    assert not size_names_without_order("def read(self, size: int = -1): ...\ndef f(*, size_hw: tuple[int, int]): ...")


# ------------------------------------------------------------------------- attributes in __init__

def _self_attrs_assigned(fn: ast.AST) -> set[str]:
    """Names ``X`` of every ``self.X = ...`` (plain or annotated, also inside tuple targets) in ``fn``."""
    out = set()
    for node in ast.walk(fn):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for target in targets:
            for t in ast.walk(target):
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                    out.add(t.attr)
    return out


def attributes_created_outside_init(text: str, *, strict: tuple[str, ...] = ()) -> list[str]:
    """``Class.method: self.X`` for each attribute a method other than ``__init__`` creates (one that
    neither ``__init__`` nor the class body declares); for the classes named in ``strict``, every
    assignment to ``self.X`` outside ``__init__``."""
    bad = []
    for cls in (n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.ClassDef)):
        methods = [f for f in cls.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))]
        declared = {t.target.id for t in cls.body if isinstance(t, ast.AnnAssign) and isinstance(t.target, ast.Name)}
        declared |= {n.id for t in cls.body if isinstance(t, ast.Assign) for n in t.targets if isinstance(n, ast.Name)}
        for f in methods:
            if f.name in ("__init__", "__post_init__"):
                declared |= _self_attrs_assigned(f)
        for f in methods:
            if f.name in ("__init__", "__post_init__"):
                continue
            made = _self_attrs_assigned(f)
            bad += [f"{cls.name}.{f.name}: self.{a}" for a in sorted(made if cls.name in strict else made - declared)]
    return bad


def test_attribute_check_can_fail():
    made_later = "class A:\n    def __init__(self):\n        self.a = 1\n    def build(self):\n        self.a = 2\n        self.b, self.c = 1, 2\n"
    assert attributes_created_outside_init(made_later) == ["A.build: self.b", "A.build: self.c"]
    assert attributes_created_outside_init(made_later.replace("class A", "class NeonatalHead"), strict=("NeonatalHead",)) == [
        "NeonatalHead.build: self.a", "NeonatalHead.build: self.b", "NeonatalHead.build: self.c"]


# ------------------------------------------------------------------------------------ CLI flags

_FLAG = re.compile(r"(^|[\s`'\"(])--[a-z][a-z0-9-]+")


def cli_flags_named(text: str) -> list[str]:
    """String constants (messages, hints, f-string parts; not docstrings) that name a CLI flag."""
    tree = ast.parse(text)
    docstrings = {
        id(n.body[0].value) for n in ast.walk(tree)
        if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and n.body
        and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)
    }
    return [
        f"line {n.lineno}: {n.value[:60]!r}" for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings and _FLAG.search(n.value)
    ]


def test_flag_check_can_fail():
    assert cli_flags_named('raise NeocusError("bad", hint="give --preset internal")') == ["line 1: 'give --preset internal'"]
    assert cli_flags_named('msg = f"use `--frame-size {w}x{h}`"')
    assert not cli_flags_named('"""A docstring may show `neocus simulate --frame-size 64x64`."""\nx = "a -- b"\ny = "-1"')


# --------------------------------------------------------------------- the source checks, per module

@pytest.mark.parametrize("path", ALL_MODULES, ids=[str(p.relative_to(SRC)) for p in ALL_MODULES])
def test_source_follows_the_conventions(path):
    """Size pairs say their order (section 4, all of src); in io/phantom/data/stats also: no CLI flag in
    library strings (section 5) and attributes created in ``__init__`` (section 7; the phantom head
    strictly: its builders return values that ``__init__`` assigns)."""
    text = path.read_text(encoding="utf-8")
    problems = [f"size pair without its order (size_hw / size_wh): {b}" for b in size_names_without_order(text)]
    if path in MODULES:
        problems += [f"names a CLI flag: {b}" for b in cli_flags_named(text)]
        problems += [f"attribute set outside __init__: {b}" for b in attributes_created_outside_init(text, strict=("NeonatalHead",))]
    assert not problems, f"{path.name}: {problems}"
