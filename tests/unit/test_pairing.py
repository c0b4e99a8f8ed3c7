"""Graders and probes paired by construction: every ``nb.call("probe", kw=...)`` a grader can make
names a probe of the same module's ``probes.py`` that accepts exactly those keywords; every probe
says in one line what it returns, and some grader calls it.

Found statically (``ast``), so a typo is caught before any class is graded, however the call is
written: a literal name, a name passed down to a helper (in the grader module or in
``dlcourse.checks``), a loop over literal names, keywords spread from a dict built in the grader.
A call whose probe or keywords cannot be told is itself reported: write it so that it can be.
"""

from __future__ import annotations

import ast
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AUTOGRADER = ROOT / "autograder"
CHECKS = ROOT / "src" / "dlcourse" / "checks.py"
CHECKS_MODULE = "dlcourse.checks"
MAX_ALTERNATIVES = 256  # bound on the combinations one call can resolve to


class _Unknown:
    def __repr__(self):
        return "UNKNOWN"


UNKNOWN = _Unknown()  # what an expression evaluates to when it cannot be told statically


# --- the program: grader modules and dlcourse.checks ---------------------------------------


@dataclass
class Module:
    label: str  # file name, for messages
    tree: ast.Module
    imports: dict = field(default_factory=dict)  # local name -> (module label, name)
    functions: dict = field(default_factory=dict)  # top-level name -> FunctionDef


class Program:
    """Modules whose functions may call each other, with each node's enclosing function."""

    def __init__(self, sources: dict[str, str]):
        self.modules = {label: Module(label, ast.parse(text)) for label, text in sources.items()}
        self.owner: dict[int, tuple[Module, ast.AST | None]] = {}
        # what ``from X import`` names: a helper file of the graders by its stem, or the package
        names = {label.removesuffix(".py"): label for label in self.modules}
        for module in self.modules.values():
            for node in module.tree.body:
                if isinstance(node, ast.FunctionDef):
                    module.functions[node.name] = node
                elif isinstance(node, ast.ImportFrom) and node.module in names:
                    for alias in node.names:
                        module.imports[alias.asname or alias.name] = (
                            names[node.module],
                            alias.name,
                        )
            self._own(module, module.tree, None)

    def _own(self, module, node, function):
        for child in ast.iter_child_nodes(node):
            self.owner[id(child)] = (module, function)
            inner = child if isinstance(child, (ast.FunctionDef, ast.Lambda)) else function
            self._own(module, child, inner)

    def resolve_function(self, module: Module, name: str):
        """The FunctionDef a bare name refers to in ``module``, following ``from X import``."""
        if name in module.functions:
            return self.modules[module.label], module.functions[name]
        if name in module.imports:
            label, original = module.imports[name]
            target = self.modules[label]
            return (target, target.functions[original]) if original in target.functions else None
        return None

    def call_sites(self, function: ast.FunctionDef):
        """Every ``f(...)`` call in the program that calls ``function``."""
        for module in self.modules.values():
            for node in ast.walk(module.tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    found = self.resolve_function(module, node.func.id)
                    if found is not None and found[1] is function:
                        yield node

    # --- where a name's value can come from --------------------------------------------

    def origins(self, name: ast.Name):
        """The expressions whose value can reach ``name``, or UNKNOWN."""
        module, function = self.owner[id(name)]
        scope = function if function is not None else module.tree
        found = []
        for node in _own_nodes(scope):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    got = _destructure(target, node.value, name.id)
                    _collect(found, got)
            elif isinstance(node, (ast.For, ast.comprehension)):
                got = self._loop_values(node.target, node.iter, name.id)
                _collect(found, got)
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.NamedExpr, ast.With)):
                if any(
                    isinstance(t, ast.Name) and t.id == name.id
                    for t in ast.walk(node)
                    if isinstance(t, ast.Name) and isinstance(t.ctx, ast.Store)
                ):
                    found.append(UNKNOWN)
        parameter = isinstance(function, ast.FunctionDef) and name.id in _parameters(function)
        if parameter:  # what its callers pass: none at all for a helper nobody calls
            found.extend(self._argument_values(function, name.id))
        elif not found:  # a global of the module
            return self.origins_in_module(module, name.id)
        return UNKNOWN if UNKNOWN in found else found

    def added_keys(self, name: ast.Name):
        """Keys a function adds to the dict in ``name`` (``d["k"] = ...``), or UNKNOWN when it
        changes that dict in a way that cannot be told (``del``, ``.pop``, ``d[k]`` ...)."""
        module, function = self.owner[id(name)]
        added = set()
        for node in _own_nodes(function if function is not None else module.tree):
            targets = (
                node.targets
                if isinstance(node, (ast.Assign, ast.Delete))
                else [node.target]
                if isinstance(node, (ast.AugAssign, ast.AnnAssign))
                else []
            )
            for target in targets:
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == name.id
                ):
                    key = target.slice
                    if isinstance(node, ast.Delete) or not (
                        isinstance(key, ast.Constant) and isinstance(key.value, str)
                    ):
                        return UNKNOWN
                    added.add(key.value)
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == name.id
                and node.func.attr in ("update", "pop", "popitem", "setdefault", "clear")
            ):
                return UNKNOWN
        return added

    def origins_in_module(self, module: Module, ident: str):
        found = []
        for node in module.tree.body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    got = _destructure(target, node.value, ident)
                    _collect(found, got)
        return UNKNOWN if (UNKNOWN in found or not found) else found

    def _loop_values(self, target, iterable, ident):
        if not any(isinstance(t, ast.Name) and t.id == ident for t in ast.walk(target)):
            return None
        items = self.elements(iterable)
        if items is UNKNOWN:
            return UNKNOWN
        out = []
        for item in items:
            got = _destructure(target, item, ident)
            if got is UNKNOWN:
                return UNKNOWN
            out.extend(got or ())
        return out

    def elements(self, iterable, depth=0):
        """The element expressions of a literal sequence (or of a dict literal: its keys)."""
        if depth > 10:
            return UNKNOWN
        if isinstance(iterable, (ast.List, ast.Tuple, ast.Set)):
            return list(iterable.elts)
        if isinstance(iterable, ast.Dict) and None not in iterable.keys:
            return list(iterable.keys)
        if isinstance(iterable, ast.Name):
            origins = self.origins(iterable)
            if origins is UNKNOWN:
                return UNKNOWN
            out = []
            for origin in origins:
                got = self.elements(origin, depth + 1)
                if got is UNKNOWN:
                    return UNKNOWN
                out.extend(got)
            return out
        return UNKNOWN

    def _argument_values(self, function: ast.FunctionDef, ident: str):
        """What callers pass for parameter ``ident`` (or its default); pytest's for tests."""
        args = function.args
        positional = [a.arg for a in (*args.posonlyargs, *args.args)]
        for decorator in function.decorator_list:  # @pytest.mark.parametrize("a,b", [...])
            if (
                isinstance(decorator, ast.Call)
                and _dotted(decorator.func).endswith("parametrize")
                and len(decorator.args) >= 2
                and isinstance(decorator.args[0], ast.Constant)
            ):
                names = [n.strip() for n in str(decorator.args[0].value).split(",")]
                if ident in names and isinstance(decorator.args[1], (ast.List, ast.Tuple)):
                    index = names.index(ident)
                    return [
                        e.elts[index] if len(names) > 1 and isinstance(e, ast.Tuple) else e
                        for e in decorator.args[1].elts
                    ]
        if function.name.startswith("test") or any(
            "fixture" in _dotted(d.func if isinstance(d, ast.Call) else d)
            for d in function.decorator_list
        ):
            return [UNKNOWN]  # a fixture's value: not a literal
        defaults = dict(zip(positional[len(positional) - len(args.defaults) :], args.defaults))
        defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d})
        found = []
        for call in self.call_sites(function):
            keywords = {k.arg: k.value for k in call.keywords if k.arg is not None}
            index = positional.index(ident) if ident in positional else None
            if any(isinstance(a, ast.Starred) for a in call.args):
                found.append(UNKNOWN)
            elif index is not None and index < len(call.args):
                found.append(call.args[index])
            elif ident in keywords:
                found.append(keywords[ident])
            elif any(k.arg is None for k in call.keywords):
                found.append(UNKNOWN)
            elif ident in defaults:
                found.append(defaults[ident])
        return found

    def extra_keywords(self, function: ast.FunctionDef):
        """For ``**kwargs`` of ``function``: the key sets its callers pass into it."""
        named = set(_parameters(function))
        alternatives = []
        for call in self.call_sites(function):
            fixed = frozenset(k.arg for k in call.keywords if k.arg not in named and k.arg)
            spreads = [self.keysets(k.value) for k in call.keywords if k.arg is None]
            if UNKNOWN in spreads:
                return UNKNOWN
            for combo in itertools.product(*spreads):
                alternatives.append(fixed.union(*combo) - named)
        return alternatives

    # --- values -------------------------------------------------------------------------

    def strings(self, expr, depth=0):
        """The string values ``expr`` can have, or UNKNOWN."""
        if depth > 20 or expr is UNKNOWN:
            return UNKNOWN
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return {expr.value}
        if isinstance(expr, ast.IfExp):
            parts = [self.strings(expr.body, depth + 1), self.strings(expr.orelse, depth + 1)]
        elif isinstance(expr, ast.Name):
            origins = self.origins(expr)
            if origins is UNKNOWN:
                return UNKNOWN
            parts = [self.strings(origin, depth + 1) for origin in origins]
        else:
            return UNKNOWN
        return UNKNOWN if UNKNOWN in parts else set().union(*parts)

    def keysets(self, expr, depth=0):
        """The key sets a dict expression can have (a list of alternatives), or UNKNOWN."""
        if depth > 20 or expr is UNKNOWN:
            return UNKNOWN
        if isinstance(expr, ast.Dict):
            fixed, spreads = set(), []
            for key, value in zip(expr.keys, expr.values):
                if key is None:
                    spreads.append(self.keysets(value, depth + 1))
                elif isinstance(key, ast.Constant) and isinstance(key.value, str):
                    fixed.add(key.value)
                else:
                    return UNKNOWN
            if UNKNOWN in spreads:
                return UNKNOWN
            return _limit([frozenset(fixed).union(*c) for c in itertools.product(*spreads)])
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name):
            if expr.func.id == "dict" and not expr.args:
                return self.keysets(
                    ast.Dict(
                        keys=[ast.Constant(k.arg) if k.arg else None for k in expr.keywords],
                        values=[k.value for k in expr.keywords],
                    ),
                    depth + 1,
                )
            module, _ = self.owner[id(expr)]
            found = self.resolve_function(module, expr.func.id)
            if found is None:
                return UNKNOWN
            returns = [
                node.value
                for node in _own_nodes(found[1])
                if isinstance(node, ast.Return) and node.value is not None
            ]
            parts = [self.keysets(value, depth + 1) for value in returns]
            return UNKNOWN if (UNKNOWN in parts or not parts) else _limit(sum(parts, []))
        if isinstance(expr, ast.IfExp):
            parts = [self.keysets(expr.body, depth + 1), self.keysets(expr.orelse, depth + 1)]
            return UNKNOWN if UNKNOWN in parts else _limit(sum(parts, []))
        if isinstance(expr, ast.Name):
            module, function = self.owner[id(expr)]
            if (
                isinstance(function, ast.FunctionDef)
                and function.args.kwarg is not None
                and function.args.kwarg.arg == expr.id
            ):
                return self.extra_keywords(function)
            origins, added = self.origins(expr), self.added_keys(expr)
            if origins is UNKNOWN or added is UNKNOWN:
                return UNKNOWN
            parts = [self.keysets(origin, depth + 1) for origin in origins]
            return (
                UNKNOWN if UNKNOWN in parts else _limit([keys | added for keys in sum(parts, [])])
            )
        return UNKNOWN


def _collect(found: list, got) -> None:
    """Add what :func:`_destructure` gave to ``found`` (nothing when it bound nothing)."""
    if got is UNKNOWN:
        found.append(UNKNOWN)
    elif got is not None:
        found.extend(got)


def _limit(alternatives):
    unique = list(dict.fromkeys(alternatives))
    return unique if len(unique) <= MAX_ALTERNATIVES else UNKNOWN


def _parameters(function: ast.FunctionDef) -> list[str]:
    args = function.args
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    return names + [a.arg for a in (args.vararg, args.kwarg) if a is not None]


def _dotted(node) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def _own_nodes(scope):
    """The nodes of a function (or module) body, not descending into nested functions."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))


def _destructure(target, value, ident):
    """The expressions ``value`` gives ``ident`` when assigned to ``target``: None if ``target``
    does not bind ``ident``, UNKNOWN if it does but the value cannot be split."""
    if isinstance(target, ast.Name):
        return [value] if target.id == ident else None
    if isinstance(target, (ast.Tuple, ast.List)):
        binds = any(isinstance(t, ast.Name) and t.id == ident for t in ast.walk(target))
        if not binds:
            return None
        if not isinstance(value, (ast.Tuple, ast.List)) or len(value.elts) != len(target.elts):
            return UNKNOWN
        out = []
        for sub_target, sub_value in zip(target.elts, value.elts):
            got = _destructure(sub_target, sub_value, ident)
            if got is UNKNOWN:
                return UNKNOWN
            out.extend(got or ())
        return out
    return None


# --- probes, calls, problems -----------------------------------------------------------


@dataclass
class Probe:
    node: ast.FunctionDef

    def keyword_problems(self, keywords: frozenset[str]) -> list[str]:
        args = self.node.args
        positional = [*args.posonlyargs, *args.args]
        if not positional:
            return [f"probe {self.node.name} does not take nb as its first argument"]
        after_nb = positional[1:]
        named = [a.arg for a in (*after_nb, *args.kwonlyargs)]
        with_default = [a.arg for a in positional[len(positional) - len(args.defaults) :]] + [
            a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None
        ]
        required = {n for n in named if n not in with_default}
        problems = []
        if len(args.posonlyargs) > 1:
            problems.append(f"probe {self.node.name} has positional-only inputs")
        unknown = keywords - set(named) if args.kwarg is None else keywords & {positional[0].arg}
        if unknown:
            problems.append(
                f"passes {_names(unknown)}, which probe {self.node.name} does not accept"
            )
        missing = required - keywords
        if missing:
            problems.append(
                f"does not pass {_names(missing)}, which probe {self.node.name} requires"
            )
        return problems


def _names(names) -> str:
    return ", ".join(sorted(names))


def probes_of(source: str) -> tuple[dict[str, Probe], set[str]]:
    """The probes (public top-level functions) of a probes.py, and its other public names."""
    tree = ast.parse(source)
    probes, others = {}, set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            probes[node.name] = Probe(node)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            others.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.ClassDef, ast.AsyncFunctionDef)):
            others.add(node.name)
        elif isinstance(node, ast.Assign):
            others.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return probes, {name for name in others if not name.startswith("_")}


def docstring_problem(probe: Probe) -> str | None:
    text = ast.get_docstring(probe.node) or ""
    summary = text.strip().split("\n\n")[0]
    if not summary:
        return f"probe {probe.node.name} has no docstring saying in one line what it returns"
    if summary.count("\n") > 1:  # one sentence, wrapped at most once at 100 columns
        return f"probe {probe.node.name}'s docstring does not start with a short summary"
    return None


def pairing_problems(
    graders: dict[str, str], probes_source: str, checks_source: str | None = None
) -> list[str]:
    """Every pairing problem of one module: ``graders`` maps file names to their source."""
    sources = dict(graders)
    sources[CHECKS_MODULE] = checks_source if checks_source is not None else CHECKS.read_text()
    program = Program(sources)
    probes, other_names = probes_of(probes_source)
    problems, called = [], set()
    for module in program.modules.values():
        for node in ast.walk(module.tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "call"
                and isinstance(node.func.value, ast.Name)
            ):
                continue
            where = f"{module.label}:{node.lineno}"
            if node.func.value.id != "nb":
                _, function = program.owner[id(node)]
                if isinstance(function, ast.FunctionDef) and node.func.value.id in _parameters(
                    function
                ):  # a submission under another name would escape the check
                    problems.append(
                        f"{where}: {node.func.value.id}.call: name the submission nb, "
                        "so that this call can be checked"
                    )
                continue
            if not node.args:
                problems.append(f"{where}: nb.call without a probe name")
                continue
            if len(node.args) > 1:
                problems.append(f"{where}: nb.call passes inputs by position (use keywords)")
            names = program.strings(node.args[0])
            fixed = frozenset(k.arg for k in node.keywords if k.arg is not None)
            spreads = [program.keysets(k.value) for k in node.keywords if k.arg is None]
            if names is UNKNOWN:
                problems.append(
                    f"{where}: cannot tell which probe this nb.call names "
                    "(write the name as a string, or pass one to the helper)"
                )
                continue
            if UNKNOWN in spreads:
                problems.append(
                    f"{where}: cannot tell which keywords this nb.call passes "
                    "(spread a dict literal, or one a helper of this file returns)"
                )
                keysets = UNKNOWN
            else:
                keysets = _limit([fixed.union(*c) for c in itertools.product(*spreads)])
            for name in sorted(names):
                called.add(name)
                if name not in probes:
                    kind = "is not a probe function" if name in other_names else "is no probe"
                    problems.append(f"{where}: nb.call({name!r}): {name!r} {kind} in probes.py")
                    continue
                for keys in keysets if keysets is not UNKNOWN else ():
                    problems.extend(
                        f"{where}: nb.call({name!r}) {p}"
                        for p in probes[name].keyword_problems(keys)
                    )
    for name, probe in sorted(probes.items()):
        problem = docstring_problem(probe)
        if problem:
            problems.append(f"probes.py:{probe.node.lineno}: {problem}")
        if name not in called:
            problems.append(f"probes.py:{probe.node.lineno}: probe {name} is called by no grader")
    return list(dict.fromkeys(problems))


def module_problems(folder: Path) -> list[str]:
    """The pairing problems of ``autograder/<a>/``: its graders and their helper files."""
    graders = {p.name: p.read_text() for p in sorted(folder.glob("*.py")) if p.name != "probes.py"}
    return pairing_problems(graders, (folder / "probes.py").read_text())


ASSIGNMENTS = sorted(p.name for p in AUTOGRADER.iterdir() if (p / "probes.py").is_file())


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_graders_and_probes_are_paired(assignment):
    problems = module_problems(AUTOGRADER / assignment)
    assert not problems, f"{assignment}: {len(problems)} pairing problem(s):\n" + "\n".join(
        problems
    )


# --- the analysis itself, on small modules ---------------------------------------------

PROBES = '''
from dlcourse.probing import predict_labels


def square(nb, x):
    """x squared by the student's square."""
    return nb.square(x)


def scaled(nb, x, factor=2.0):
    """The student's scale(x, factor)."""
    return nb.scale(x, factor)


def anything(nb, **inputs):
    """The student's anything(**inputs)."""
    return nb.anything(**inputs)
'''


CHECKS_CALL_LINE = next(  # the line of dlcourse.checks' own nb.call (in hidden_test_accuracy)
    node.lineno
    for node in ast.walk(ast.parse(CHECKS.read_text()))
    if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "call"
)


def check(graders: str, probes: str = PROBES) -> list[str]:
    return pairing_problems({"test_m.py": graders}, probes, checks_source=CHECKS.read_text())


def test_a_well_paired_module_has_no_problems():
    assert (
        check("""
from dlcourse.checks import grade


def _case(g):
    return {"x": g, "factor": 3.0}


def _ask(nb, probe, **inputs):
    return nb.call(probe, **inputs)


@grade(cell="c", points=1)
def test_a(nb, seed):
    for name in ("square", "scaled"):
        nb.call(name, x=seed)
    nb.call("scaled", **_case(seed))
    _ask(nb, "anything", whatever=1, more=2)
""")
        == []
    )


def test_typos_wrong_keywords_missing_ones_and_unused_probes_are_all_reported():
    problems = check("""
def test_a(nb, seed):
    nb.call("sqaure", x=1)
    nb.call("square", x=1, y=2)
    nb.call("scaled", factor=1.0)
    nb.call("predict_labels", images=1)
""")
    assert problems == [
        "test_m.py:3: nb.call('sqaure'): 'sqaure' is no probe in probes.py",
        "test_m.py:4: nb.call('square') passes y, which probe square does not accept",
        "test_m.py:5: nb.call('scaled') does not pass x, which probe scaled requires",
        "test_m.py:6: nb.call('predict_labels'): 'predict_labels' is not a probe function in "
        "probes.py",
        "probes.py:15: probe anything is called by no grader",
    ]


def test_calls_through_helpers_loops_and_dicts_are_followed():
    problems = check("""
from dlcourse.checks import hidden_test_accuracy


def _case(g, big):
    return {"x": g, "factor": 1.0} if big else {"x": g, "facter": 1.0}


def _helper(nb, probe, case):
    return nb.call(probe, **case)


def test_a(nb, seed):
    for probe, n in [("square", 1), ("anything", 2)]:
        nb.call(probe, x=n)
    _helper(nb, "scaled", _case(seed, True))
    _helper(nb, "scaled", _case(seed, False))
    hidden_test_accuracy(nb, "squares", "name")
""")
    assert problems == [
        "test_m.py:10: nb.call('scaled') passes facter, which probe scaled does not accept",
        f"dlcourse.checks:{CHECKS_CALL_LINE}: nb.call('squares'): 'squares' is no probe in "
        "probes.py",
    ]


def test_helpers_in_another_file_of_the_graders_are_followed():
    problems = pairing_problems(
        {
            "helpers.py": "def ask(nb, probe):\n    return nb.call(probe, x=1)\n",
            "test_m.py": "from helpers import ask\n\n\ndef test_a(nb):\n    ask(nb, 'sqare')\n",
        },
        PROBES,
        checks_source=CHECKS.read_text(),
    )
    assert "helpers.py:2: nb.call('sqare'): 'sqare' is no probe in probes.py" in problems


def test_calls_that_cannot_be_told_are_reported_not_ignored():
    problems = check("""
def test_a(nb, seed, made_up):
    nb.call(made_up, x=1)
    nb.call("square", **made_up)
    nb.call(f"sq{seed}", x=1)
    nb.call("square", 1)


def _helper(submission):
    return submission.call("square", x=1)
""")
    assert problems[:4] == [
        "test_m.py:3: cannot tell which probe this nb.call names (write the name as a string, "
        "or pass one to the helper)",
        "test_m.py:4: cannot tell which keywords this nb.call passes (spread a dict literal, "
        "or one a helper of this file returns)",
        "test_m.py:5: cannot tell which probe this nb.call names (write the name as a string, "
        "or pass one to the helper)",
        "test_m.py:6: nb.call passes inputs by position (use keywords)",
    ]
    assert (
        "test_m.py:10: submission.call: name the submission nb, so that this call can be "
        "checked" in problems
    )


def test_probes_need_a_one_line_docstring_and_nb_first():
    problems = check(
        """
def test_a(nb):
    nb.call("bare")
    nb.call("long")
    nb.call("no_nb", x=1)
""",
        probes='''
def bare(nb):
    return 1


def long(nb):
    """Three lines
    of
    summary."""


def no_nb(*, x):
    """What it returns."""
''',
    )
    assert problems == [
        "test_m.py:5: nb.call('no_nb') probe no_nb does not take nb as its first argument",
        "probes.py:2: probe bare has no docstring saying in one line what it returns",
        "probes.py:6: probe long's docstring does not start with a short summary",
    ]
