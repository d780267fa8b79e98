"""Claims about the cache of trained networks: bit-identical, keyed on everything, never trusting a broken entry."""

import nninv_book  # noqa: F401  (quiet TensorFlow first)

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

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return recipe(*args, **kwargs)

    monkeypatch.setattr(models, "_recipe_single_dense_layer", counting)
    return calls


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(1)
    return rng.uniform(0, 1, (48, 784)).astype(np.float32), rng.integers(0, 10, 48)


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
        monkeypatch.setattr(cache, "training_code_version", lambda: "another version of models.py")
    models.train_classifier(images, labels, **settings)
    assert len(trainings) == 2


def test_the_code_version_covers_the_training_source():
    assert any(name == "models.py" for name in cache._TRAINING_SOURCES)
    assert len(cache.training_code_version()) == 64


@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "emptied"])
def test_a_damaged_entry_is_trained_again_and_never_loaded(tiny, cache_dir, trainings, damage):
    first = weights(models.train_classifier(*tiny, epochs=1, seed=0))
    (entry,) = cache_dir.rglob("output.pkl")
    stored = bytearray(entry.read_bytes())
    if damage == "flipped byte":
        stored[len(stored) // 2] ^= 0xFF
    elif damage == "truncated":
        stored = stored[: len(stored) // 3]
    else:
        stored = bytearray()
    entry.write_bytes(bytes(stored))
    again = weights(models.train_classifier(*tiny, epochs=1, seed=0))
    assert len(trainings) == 2
    assert identical(first, again)
    assert len(list(cache_dir.rglob("output.pkl"))) == 1


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
    assert "cannot be written" in note.stdout and "NNINV_CACHE_DIR" in note.stdout


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
    assert len(list((tmp_path / "shared").rglob("output.pkl"))) == 1
