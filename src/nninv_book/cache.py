"""Trained networks, cached on disk with ``joblib.Memory`` and shared by every chapter and rebuild.

A training recipe is a function in :mod:`nninv_book.models` that returns a
Keras model and, optionally, extra arrays recorded during training. Its entry
in the cache is keyed on everything that changes the result:

* the recipe's name and every argument, the training data included (joblib
  hashes the arrays' bytes, so another data set or split is another entry);
* the source of :mod:`nninv_book.models` and :mod:`nninv_book.runtime`, where
  every recipe and the code it calls live, and of this module;
* the versions of Keras, TensorFlow and numpy that trained it.

An entry keeps the model's architecture (Keras's JSON) and weights, the
extras and a digest of all three (``joblib.hash``); an entry that cannot be
read or whose digest no longer matches (a corrupted or truncated file) is
trained again, never loaded. joblib
writes each entry to a temporary file and renames it, so two builds sharing
one cache never see a torn entry, and a lock per entry keeps two processes
from training the same network at once.

The cache lives in ``$NNINV_CACHE_DIR`` (the Makefile sets it to
``_build/cache``, which ``make clean`` removes), by default ``_build/cache``
beside ``src/``. A location that cannot be written is not used: training then
happens every time, and ``python -m nninv_book.cache`` (run once by every
``make run``) says so.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import joblib

from nninv_book.locks import exclusive

ENVIRONMENT_VARIABLE = "NNINV_CACHE_DIR"
DEFAULT_LOCATION = Path(__file__).resolve().parents[2] / "_build" / "cache"
_TRAINING_SOURCES = ("models.py", "runtime.py", "cache.py")


def location() -> Path:
    """The cache folder: ``$NNINV_CACHE_DIR`` when set, else ``_build/cache`` of the project."""
    return Path(os.environ.get(ENVIRONMENT_VARIABLE) or DEFAULT_LOCATION)


def writable(folder: Path) -> bool:
    """Whether ``folder`` exists or can be made, and a file can be created in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def training_code_version() -> str:
    """SHA-256 over the training code's source and the versions of the libraries that run it."""
    digest = hashlib.sha256()
    for name in _TRAINING_SOURCES:
        digest.update((Path(__file__).parent / name).read_bytes())
    for package in ("keras", "tensorflow-cpu", "tensorflow", "numpy"):
        try:
            digest.update(f"{package}=={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            continue
    return digest.hexdigest()


def _model_from_entry(entry):
    """The Keras model an entry describes: its architecture rebuilt, its weights set (not compiled)."""
    import keras

    model = keras.models.model_from_json(entry["architecture"])
    model.set_weights(entry["weights"])
    return model


def _train_and_store(recipe: str, arguments: dict, key: str) -> dict:
    """Run one recipe of :mod:`nninv_book.models` and return what the cache keeps of it.

    joblib keys the entry on ``key`` alone (``arguments`` is ignored): ``key``
    hashes the recipe, its arguments and the code version once, instead of
    joblib hashing the training images again at every look-up.
    """
    from nninv_book import models

    model, extras = getattr(models, recipe)(**arguments)
    stored = {"architecture": model.to_json(), "weights": model.get_weights(), "extras": extras}
    return stored | {"digest": joblib.hash(stored)}


def _intact(entry) -> bool:
    """Whether ``entry`` has every part and its digest still matches them."""
    if not isinstance(entry, dict) or entry.keys() != {"architecture", "weights", "extras", "digest"}:
        return False
    return joblib.hash({key: entry[key] for key in ("architecture", "weights", "extras")}) == entry["digest"]


def trained(recipe: str, **arguments):
    """``(model, extras)`` of ``models.<recipe>(**arguments)``, from the cache when it holds them.

    An entry that cannot be read or whose digest does not match is trained
    again and replaced. A fresh and a cached result are identical: the same
    weights, bit for bit, and the same extras.
    """
    folder = location()
    key = joblib.hash((recipe, arguments, training_code_version()))
    if not writable(folder):
        entry = _train_and_store(recipe, arguments, key)
        return _model_from_entry(entry), entry["extras"]
    memorized = joblib.Memory(folder, verbose=0).cache(_train_and_store, ignore=["arguments"])
    with exclusive(folder / "locks" / key):
        entry = None
        if memorized.check_call_in_cache(recipe, arguments, key):
            try:
                entry = memorized.call_and_shelve(recipe, arguments, key).get()
            except Exception:  # an unreadable entry is one to train again, whatever broke
                entry = None
        if not _intact(entry):
            entry = memorized.call(recipe, arguments, key)[0]
    return _model_from_entry(entry), entry["extras"]


def main() -> int:
    """``python -m nninv_book.cache``: say (once per build) when trained networks cannot be cached."""
    folder = location()
    if not writable(folder):
        print(
            f"note: the cache folder {folder} cannot be written, so every network is trained afresh; "
            f"point {ENVIRONMENT_VARIABLE} at a writable folder to cache them",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
