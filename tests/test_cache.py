"""Claims about the cache of trained networks and computations: bit-identical, keyed on everything, never trusting an entry."""

import nninv_book  # noqa: F401  (quiet TensorFlow first)

import functools
import hashlib
import io
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nninv_book import cache, models


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("NNINV_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def trainings(monkeypatch) -> list:
    """Records every time the single-layer recipe really trains."""
    calls = []
    recipe = models._recipe_single_dense_layer

    @functools.wraps(recipe)
    def counting(*args, **kwargs):
        calls.append(kwargs)
        return recipe(*args, **kwargs)

    monkeypatch.setattr(models, "_recipe_single_dense_layer", counting)
    return calls


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(1)
    return rng.uniform(0, 1, (48, 784)).astype(np.float32), rng.integers(0, 10, 48)


def entries(folder: Path) -> list[Path]:
    return sorted(path for path in (folder / "entries").iterdir() if not path.name.startswith("."))


def planted_module(folder: Path, monkeypatch, name: str, source: str):
    """A module of its own, importable from ``folder``, whose source a test can edit."""
    (folder / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return __import__(name)


def damage_entry(folder: Path, damage: str) -> None:
    """Damage the one entry in ``folder``: flip a byte, truncate or empty it, or put a folder in its place."""
    (entry,) = entries(folder)
    stored = bytearray(entry.read_bytes())
    entry.unlink()
    if damage == "a folder":
        entry.mkdir()
        return
    if damage == "flipped byte":
        stored[len(stored) // 2] ^= 0xFF
    elif damage == "truncated":
        stored = stored[: len(stored) // 3]
    else:
        stored = bytearray()
    entry.write_bytes(bytes(stored))


def weights(model) -> list[np.ndarray]:
    return model.get_weights()


def identical(first: list[np.ndarray], second: list[np.ndarray]) -> bool:
    return len(first) == len(second) and all(np.array_equal(a, b) for a, b in zip(first, second))


def test_a_cached_network_is_bit_identical_to_a_freshly_trained_one(tiny, cache_dir, trainings):
    fresh, fresh_kernels = models.fit_single_dense_layer(tiny[0], models.one_hot(tiny[1]), epochs=2, seed=0)
    loaded, loaded_kernels = models.fit_single_dense_layer(tiny[0], models.one_hot(tiny[1]), epochs=2, seed=0)
    assert len(trainings) == 1
    assert identical(weights(fresh), weights(loaded))
    assert identical(fresh_kernels, loaded_kernels)
    assert np.array_equal(models.predict(fresh, tiny[0]), models.predict(loaded, tiny[0]))


def test_float64_and_float32_copies_of_the_same_images_share_one_entry(tiny, cache_dir, trainings):
    models.train_classifier(tiny[0], tiny[1], epochs=1, seed=0)
    models.train_classifier(tiny[0].astype(np.float64), tiny[1], epochs=1, seed=0)
    assert len(trainings) == 1


@pytest.mark.slow  # trains a network per case; the computation tests below cover the same keys fast
@pytest.mark.parametrize(
    "change",
    ["seed", "hyperparameter", "data", "code"],
)
def test_a_change_to_any_input_of_the_result_trains_again(tiny, cache_dir, trainings, monkeypatch, change):
    images, labels = tiny
    settings = dict(epochs=1, seed=0, learning_rate=0.01)
    models.train_classifier(images, labels, **settings)
    if change == "seed":
        settings["seed"] = 1
    elif change == "hyperparameter":
        settings["learning_rate"] = 0.02
    elif change == "data":
        images = images.copy()
        images[0, 400] += 0.5
    else:
        monkeypatch.setattr(cache, "training_code_version", lambda recipe: "another version of models.py")
    models.train_classifier(images, labels, **settings)
    assert len(trainings) == 2


def test_the_code_version_covers_the_recipe_module_and_the_runtime(tmp_path, monkeypatch):
    recipe = planted_module(tmp_path, monkeypatch, "recipes", "def recipe(**arguments):\n    return None, None\n")
    before = cache.training_code_version(recipe.recipe)
    (tmp_path / "recipes.py").write_text("def recipe(**arguments):\n    return None, 1\n")
    assert cache.training_code_version(recipe.recipe) != before
    covered = [path.name for path in map(Path, cache._TRAINING_SOURCES)]
    assert "runtime.py" in covered and "cache.py" in covered


def test_the_code_version_covers_the_runtime_settings_a_reader_changed(tmp_path, monkeypatch):
    recipe = planted_module(tmp_path, monkeypatch, "recipes", "def recipe(**arguments):\n    return None, None\n")
    before = cache.training_code_version(recipe.recipe)
    other = "0" if os.environ["TF_ENABLE_ONEDNN_OPTS"] == "1" else "1"  # oneDNN's kernels or TensorFlow's own
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", other)
    assert cache.training_code_version(recipe.recipe) != before


@pytest.mark.slow  # trains a network per case; the computation tests below cover the same keys fast
@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "emptied"])
def test_a_damaged_entry_is_trained_again_and_never_loaded(tiny, cache_dir, trainings, damage):
    first = weights(models.train_classifier(*tiny, epochs=1, seed=0))
    damage_entry(cache_dir, damage)
    again = weights(models.train_classifier(*tiny, epochs=1, seed=0))
    assert len(trainings) == 2
    assert identical(first, again)
    assert len(entries(cache_dir)) == 1


def test_an_unwritable_cache_location_trains_without_caching(tiny, tmp_path, monkeypatch, trainings):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("NNINV_CACHE_DIR", str(blocker / "cache"))
    first = weights(models.train_classifier(*tiny, epochs=1, seed=0))
    second = weights(models.train_classifier(*tiny, epochs=1, seed=0))
    assert len(trainings) == 2
    assert identical(first, second)
    note = subprocess.run([sys.executable, "-m", "nninv_book.cache"], capture_output=True, text=True, check=True,
                          env={"NNINV_CACHE_DIR": str(blocker / "cache"), "PATH": "/usr/bin:/bin"})
    assert "cannot be used" in note.stdout and "NNINV_CACHE_DIR" in note.stdout


@pytest.mark.slow
def test_two_processes_sharing_one_cache_store_one_intact_entry(tmp_path):
    script = textwrap.dedent(
        """
        import hashlib, numpy as np
        from nninv_book import models
        rng = np.random.default_rng(2)
        model = models.train_classifier(rng.uniform(0, 1, (2000, 784)), rng.integers(0, 10, 2000), epochs=2, seed=0)
        print(hashlib.sha256(b"".join(w.tobytes() for w in model.get_weights())).hexdigest())
        """
    )
    environment = {"NNINV_CACHE_DIR": str(tmp_path / "shared"), "PATH": "/usr/bin:/bin"}
    runs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=environment) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [error for _, error in outputs]
    assert outputs[0][0] == outputs[1][0]
    assert len(entries(tmp_path / "shared")) == 1


# --- cache.computed: the chapters' expensive computations ------------------------------------------------

CALLS: list = []


def descent(x, steps, *, scale=1.0):
    """A stand-in for a chapter's computation, with a result of every kind the cache keeps."""
    from nninv_book.timing import Lap

    CALLS.append(steps)
    x = np.asarray(x, dtype=np.float64)
    return {"x": x * scale, "steps": steps, "pair": (np.float32(1.5), None), "lap": Lap(2.0), ("a", 1): [True, "s"]}


@pytest.fixture
def calls() -> list:
    CALLS.clear()
    return CALLS


def same(first, second) -> bool:
    """Equal values of equal types, arrays bit for bit, all the way down."""
    if type(first) is not type(second):
        return False
    if isinstance(first, np.ndarray):
        return first.dtype == second.dtype and np.array_equal(first, second)
    if isinstance(first, dict):
        return first.keys() == second.keys() and all(same(first[key], second[key]) for key in first)
    if isinstance(first, (list, tuple)):
        return len(first) == len(second) and all(same(a, b) for a, b in zip(first, second))
    if hasattr(first, "__dict__"):
        return same(vars(first), vars(second))
    return first == second


def test_a_cached_computation_equals_a_fresh_one(cache_dir, calls, monkeypatch, tmp_path):
    x = np.linspace(0, 1, 7)
    first = cache.computed(descent, x, 3, scale=2.0)
    second = cache.computed(descent, x, 3, scale=2.0)
    assert calls == [3]
    assert same(first, second)
    monkeypatch.setenv("NNINV_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert same(first, cache.computed(descent, x, 3, scale=2.0)) and calls == [3, 3]
    assert same(first["x"], x * 2.0) and isinstance(first["pair"][0], np.float32)


@pytest.mark.parametrize("change", ["positional", "keyword", "array bytes"])
def test_a_changed_argument_computes_again(cache_dir, calls, change):
    x = np.linspace(0, 1, 7)
    cache.computed(descent, x, 3, scale=2.0)
    if change == "positional":
        cache.computed(descent, x, 4, scale=2.0)
    elif change == "keyword":
        cache.computed(descent, x, 3, scale=3.0)
    else:
        other = x.copy()
        other[3] = np.nextafter(other[3], 2)
        cache.computed(descent, other, 3, scale=2.0)
    assert len(calls) == 2


def test_a_changed_source_computes_again(cache_dir, tmp_path, monkeypatch):
    module = planted_module(tmp_path, monkeypatch, "sweep", "RUNS = []\ndef sweep(n):\n    RUNS.append(n)\n    return n\n")
    assert cache.computed(module.sweep, 2) == 2 and cache.computed(module.sweep, 2) == 2
    assert module.RUNS == [2]
    (tmp_path / "sweep.py").write_text("RUNS = []\ndef sweep(n):\n    RUNS.append(n)\n    return n  # edited\n")
    cache.computed(module.sweep, 2)
    assert module.RUNS == [2, 2]


def test_the_computation_key_covers_the_library_and_not_the_build_only_modules():
    covered = {path.relative_to(cache.SOURCE_ROOT).as_posix() for path in cache.computation_sources()}
    assert {"nninv/inverse.py", "nninv_book/optimisation.py", "nninv_book/models.py"} <= covered
    assert not covered & {"nninv_book/pdf.py", "nninv_book/sphinx_page_fixes.py", "nninv_book/locks.py"}


@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "emptied", "a folder"])
def test_a_damaged_computation_is_computed_again(cache_dir, calls, damage):
    first = cache.computed(descent, np.ones(3), 5)
    damage_entry(cache_dir, damage)
    assert same(first, cache.computed(descent, np.ones(3), 5))
    assert calls == [5, 5]


class Planted:
    """A pickle that, when loaded, creates a file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def sealed(payload: bytes) -> bytes:
    """``payload`` with a header and digest the cache accepts: whoever can write the folder can forge both."""
    return cache.FORMAT + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@pytest.mark.parametrize("plant", ["pickle", "object array", "foreign class"])
def test_a_planted_entry_with_a_valid_digest_runs_no_code(cache_dir, calls, tmp_path, plant):
    ran = tmp_path / "the planted code ran"
    first = cache.computed(descent, np.ones(3), 5)
    (entry,) = entries(cache_dir)
    if plant == "pickle":
        payload = pickle.dumps(Planted(ran))
    elif plant == "object array":
        payload = npz(structure=np.frombuffer(b'{"array": 0}', np.uint8), a0=np.array([Planted(ran)], dtype=object))
    else:
        structure = f'{{"object": "pathlib:Path", "state": {{"dict": [["touch", "{ran}"]]}}}}'.encode()
        payload = npz(structure=np.frombuffer(structure, np.uint8))
    entry.write_bytes(sealed(payload))
    assert same(first, cache.computed(descent, np.ones(3), 5))
    assert not ran.exists()
    assert calls == [5, 5]


def test_a_planted_network_naming_code_outside_keras_is_trained_again(tiny, cache_dir, trainings):
    first = weights(models.train_classifier(*tiny, epochs=1, seed=0))
    (entry,) = entries(cache_dir)
    value, found = cache._read(entry)
    assert found
    planted = value["architecture"].replace('"module": "keras.layers"', '"module": "os"')
    assert planted != value["architecture"]
    entry.write_bytes(sealed(cache._payload(value | {"architecture": planted})))
    assert identical(first, weights(models.train_classifier(*tiny, epochs=1, seed=0)))
    assert len(trainings) == 2


def test_a_closure_or_an_unkeepable_result_is_refused_by_name(cache_dir):
    offset = 1
    with pytest.raises(cache.UncacheableError, match="closure_of_a_test"):
        def closure_of_a_test(x):
            return x + offset
        cache.computed(closure_of_a_test, 1)
    with pytest.raises(cache.UncacheableError, match="builtins.set"):
        cache.computed(frozenset_as_set, 1)


def frozenset_as_set(x):
    return {x}


@pytest.mark.parametrize("blocker", ["locks", "entries", "cache"])
def test_an_unusable_cache_folder_computes_without_caching(cache_dir, calls, blocker):
    if blocker == "cache":
        cache_dir.write_text("a file in the way")
    else:
        cache_dir.mkdir()
        (cache_dir / blocker).write_text("a file in the way")
    first = cache.computed(descent, np.ones(3), 5)
    assert same(first, cache.computed(descent, np.ones(3), 5))
    assert calls == [5, 5]
    note = subprocess.run([sys.executable, "-m", "nninv_book.cache"], capture_output=True, text=True, check=True,
                          env={"NNINV_CACHE_DIR": str(cache_dir), "PATH": "/usr/bin:/bin"})
    assert "cannot be used" in note.stdout and str(cache_dir / blocker if blocker != "cache" else cache_dir) in note.stdout


def test_a_lock_file_that_is_a_folder_computes_without_caching(cache_dir, calls):
    cache.computed(descent, np.ones(3), 5)
    key = entries(cache_dir)[0].name
    (cache_dir / "locks" / key).unlink()
    (cache_dir / "locks" / key).mkdir()
    assert same(cache.computed(descent, np.ones(3), 5), cache.computed(descent, np.ones(3), 5))
    assert calls == [5, 5, 5]


def prior_and_layer_outputs(prior, layer, y):
    """A stand-in for a chapter's inversion under a prior."""
    CALLS.append(1)
    return layer.gaussian(y, prior)


def test_a_prior_and_a_layer_find_their_entry_again_after_they_were_used(cache_dir, calls):
    import nninv

    rng = np.random.default_rng(0)
    prior = nninv.GaussianPrior(np.zeros(6), np.eye(6) + 0.1)
    layer = nninv.DenseInverse(rng.standard_normal((6, 3)), np.zeros(3), "linear")
    y = rng.standard_normal((2, 3))
    first = cache.computed(prior_and_layer_outputs, prior, layer, y)
    prior.sample(3, rng)           # computes and keeps the prior's factor
    layer.gaussian(y, prior)       # computes and keeps the layer's gain for it
    layer.null_space               # and its null space
    again = cache.computed(prior_and_layer_outputs, prior, layer, y)
    assert calls == [1]
    assert np.array_equal(first, again)
