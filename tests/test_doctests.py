"""Claims made by the library's docstrings: every example in them runs and prints what it says."""

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import nninv

MODULES = sorted(info.name for info in pkgutil.iter_modules(nninv.__path__, "nninv."))


@pytest.mark.parametrize("name", MODULES)
def test_every_example_in_the_module_runs_as_written(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    globs = {"np": np, **{key: getattr(nninv, key) for key in nninv.__all__}, **vars(module)}
    for test in finder.find(module, name, globs=globs):
        runner.run(test)
    failed, attempted = runner.summarize(verbose=False)
    assert failed == 0, f"{failed} of {attempted} examples in {name} failed (see the output above)"


def documented_elsewhere(cls: type, key: str) -> bool:
    """Whether a base class of ``cls`` documents ``key`` with an example (an override need not repeat it)."""
    return any(">>>" in (getattr(vars(base).get(key), "__doc__", None) or "") for base in cls.__mro__[1:])


def test_every_public_function_and_method_of_the_library_has_an_example():
    missing = []
    for name in MODULES:
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if attribute.startswith("_") or getattr(value, "__module__", None) != name:
                continue
            if isinstance(value, type):
                members = [
                    (f"{attribute}.{key}", member) for key, member in vars(value).items()
                    if not key.startswith("_") and callable(member) and not documented_elsewhere(value, key)
                ]
            else:
                members = [(attribute, value)] if callable(value) else []
            missing += [f"{name}.{label}" for label, member in members if ">>>" not in (member.__doc__ or "")]
    assert not missing, missing
