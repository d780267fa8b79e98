"""Trained networks and expensive computations, cached on disk and shared by every chapter and rebuild.

Two kinds of entry share one folder and one key discipline:

* :func:`trained` keeps a training recipe's network (a function of
  :mod:`nninv_book.models` that returns a Keras model and, optionally, extra
  arrays recorded during training);
* :func:`computed` keeps the result of any expensive computation a chapter
  runs (a descent, a sweep, a judge's verdicts).

An entry is keyed (``joblib.hash``) on everything that changes its result:

* the function's module and qualified name and every argument (arrays by their
  bytes, a Keras model by its architecture and weights), so other data or
  another split is another entry;
* the source of the code that could run: for a recipe, its module,
  :mod:`nninv_book.runtime` and this module; for a computation, every module
  of :mod:`nninv` and :mod:`nninv_book` except :data:`BUILD_ONLY`, and the
  module (or, in a notebook, the source) of the function itself;
* the versions of the numerical libraries (numpy, scipy, Keras, TensorFlow,
  scikit-learn, ART), and this process's values of the variables
  :mod:`nninv_book.runtime` sets (a reader who turns oneDNN off or gives
  TensorFlow more threads trains other weights).

**Nothing in the cache is unpickled.** An entry is one file: a SHA-256 of its
payload, then the payload, an ``.npz`` archive read with
``allow_pickle=False`` whose arrays are the result's arrays and whose
``structure`` member is JSON describing the rest (numbers, strings, lists,
tuples, dicts, and the fields of the project's own classes, which are the only
classes an entry can name). The digest is checked before the archive is
opened, and a network's architecture is rebuilt by Keras in safe mode from
JSON whose every layer comes from Keras itself. So an entry that is damaged,
truncated or planted is computed again, and a planted entry can at worst hold
wrong numbers (as any file the user can write could), never run code. An entry
is written to a temporary file and renamed, and a lock per entry keeps two
processes from computing the same result at once.

The cache lives in ``$NNINV_CACHE_DIR`` (the Makefile sets it to
``_build/cache``, which ``make clean`` removes), by default ``_build/cache``
beside ``src/``. A location that cannot be written is not used: everything is
then computed every time, and ``python -m nninv_book.cache`` (run once by
every ``make run``) says so.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import inspect
import io
import json
import os
import stat
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import joblib
import numpy as np

from nninv_book.locks import LockError, exclusive
from nninv_book.runtime import ENVIRONMENT

ENVIRONMENT_VARIABLE = "NNINV_CACHE_DIR"
SOURCE_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LOCATION = SOURCE_ROOT.parent / "_build" / "cache"
FORMAT = b"nninv-cache 2\n"
PROJECT_PACKAGES = ("nninv", "nninv_book")
BUILD_ONLY = frozenset(
    f"nninv_book/{name}.py"
    for name in ("pdf", "sphinx_page_fixes", "locks", "notebooks", "parameters", "claims", "wording", "plots", "record")
)
"""Book modules no computation calls: they build the PDF and the HTML, take locks, read PARAMS, check
claims, word and draw results and glue them. Editing them changes how a result is shown, never the
result, so they are not part of a computation's key (and its cached results survive the edit)."""
_TRAINING_SOURCES = ("nninv_book/runtime.py", "nninv_book/cache.py")
MAX_ENTRY_BYTES = 1 << 30
"""The largest entry kept: a file bigger than this where an entry goes is not read (it is computed again)."""
_VERSIONED = ("numpy", "scipy", "keras", "tensorflow-cpu", "tensorflow", "scikit-learn", "adversarial-robustness-toolbox")


class UncacheableError(TypeError):
    """A result (or argument) the cache cannot keep without pickling it."""


def location() -> Path:
    """The cache folder: ``$NNINV_CACHE_DIR`` when set, else ``_build/cache`` of the project."""
    return Path(os.environ.get(ENVIRONMENT_VARIABLE) or DEFAULT_LOCATION)


def unwritable_part(folder: Path) -> Path | None:
    """The first of ``folder`` and its ``locks`` and ``entries`` folders that cannot be made or written, if any."""
    for part in (folder, folder / "locks", folder / "entries"):
        try:
            part.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=part):
                pass
        except OSError:
            return part
    return None


def writable(folder: Path) -> bool:
    """Whether ``folder`` and its ``locks`` and ``entries`` folders exist or can be made, and can be written."""
    return unwritable_part(folder) is None


def _versions() -> bytes:
    found = []
    for package in _VERSIONED:
        try:
            found.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    return "\n".join(found).encode()


def _settings() -> bytes:
    """This process's values of the runtime's variables: a reader's own (oneDNN off, more threads) trains other weights."""
    return json.dumps({key: os.environ.get(key) for key in sorted(ENVIRONMENT)}).encode()


def _digest_of(paths, *extra: bytes) -> str:
    digest = hashlib.sha256(FORMAT)
    for path in sorted(set(paths)):
        digest.update(str(path).encode() + b"\0" + path.read_bytes())
    for part in extra:
        digest.update(part)
    digest.update(_versions())
    digest.update(_settings())
    return digest.hexdigest()


def _defining_source(function) -> tuple[list[Path], bytes]:
    """The file of the module that defines ``function``, or (a notebook's function) its own source."""
    file = getattr(sys.modules.get(function.__module__), "__file__", None)
    if file and file.endswith(".py") and Path(file).is_file():
        return [Path(file).resolve()], b""
    try:
        return [], inspect.getsource(function).encode()
    except (OSError, TypeError):
        raise UncacheableError(f"the source of {_name(function)} cannot be read, so no cache key can cover it") from None


def training_code_version(recipe) -> str:
    """SHA-256 over a recipe's module, the runtime and this module, and the libraries' versions."""
    own, text = _defining_source(recipe)
    return _digest_of(own + [SOURCE_ROOT / name for name in _TRAINING_SOURCES], text)


def computation_sources() -> list[Path]:
    """Every source file of :mod:`nninv` and :mod:`nninv_book` a computation could run (not :data:`BUILD_ONLY`)."""
    return sorted(
        path for package in PROJECT_PACKAGES for path in (SOURCE_ROOT / package).rglob("*.py")
        if path.relative_to(SOURCE_ROOT).as_posix() not in BUILD_ONLY
    )


def computation_code_version(function) -> str:
    """SHA-256 over the project's computing code, ``function``'s own module or source, and the versions."""
    own, text = _defining_source(function)
    return _digest_of(computation_sources() + own, text)


def _name(function) -> str:
    return f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', repr(function))}"


# --- the entry format: arrays in an npz archive, everything else as JSON ---------------------------------

def _project_class(cls) -> bool:
    return cls.__module__.split(".")[0] in PROJECT_PACKAGES


def _state(value) -> dict:
    if dataclasses.is_dataclass(value):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    slots = [name for cls in type(value).__mro__ for name in getattr(cls, "__slots__", ())]
    state = {name: getattr(value, name) for name in slots if hasattr(value, name)}
    return state | dict(getattr(value, "__dict__", {}))


def _encode(value, arrays: list):
    if value is None or isinstance(value, (bool, str)) or type(value) in (int, float):
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        if value.dtype.hasobject or value.dtype.kind == "V":
            raise UncacheableError(f"an array of dtype {value.dtype} cannot be kept without pickling it")
        arrays.append(np.asarray(value))
        return {"array" if isinstance(value, np.ndarray) else "scalar": len(arrays) - 1}
    if type(value) in (list, tuple):
        return {type(value).__name__: [_encode(item, arrays) for item in value]}
    if type(value) is dict:
        return {"dict": [[_encode(key, arrays), _encode(item, arrays)] for key, item in value.items()]}
    if _project_class(type(value)) and not isinstance(value, type):
        cls = type(value)
        return {"object": f"{cls.__module__}:{cls.__qualname__}", "state": _encode(_state(value), arrays)}
    raise UncacheableError(
        f"a {type(value).__module__}.{type(value).__qualname__} cannot be kept: the cache keeps numpy arrays, "
        "numbers, strings, lists, tuples, dicts and the project's own objects made of them"
    )


def _project_class_named(path: str):
    module, _, qualname = path.partition(":")
    if module.split(".")[0] not in PROJECT_PACKAGES:
        raise ValueError(f"an entry names the class {path}, which is not the project's own")
    cls = importlib.import_module(module)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    if not isinstance(cls, type):
        raise ValueError(f"an entry names {path}, which is not a class")
    return cls


def _decode(node, arrays):
    if not isinstance(node, dict):
        return node
    ((kind, content),) = (item for item in node.items() if item[0] != "state")
    if kind == "array":
        return arrays[content]
    if kind == "scalar":
        return arrays[content][()]
    if kind in ("list", "tuple"):
        return {"list": list, "tuple": tuple}[kind](_decode(item, arrays) for item in content)
    if kind == "dict":
        return {_decode(key, arrays): _decode(item, arrays) for key, item in content}
    if kind == "object":
        cls = _project_class_named(content)
        value = cls.__new__(cls)
        for name, item in _decode(node["state"], arrays).items():
            object.__setattr__(value, name, item)
        return value
    raise ValueError(f"an entry holds an unknown kind {kind!r}")


def _payload(value) -> bytes:
    """``value`` as an npz archive: its arrays, and its structure as JSON."""
    arrays: list[np.ndarray] = []
    structure = json.dumps(_encode(value, arrays)).encode()
    buffer = io.BytesIO()
    np.savez(buffer, structure=np.frombuffer(structure, dtype=np.uint8),
             **{f"a{index}": array for index, array in enumerate(arrays)})
    return buffer.getvalue()


def _value(payload: bytes):
    with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    structure = json.loads(arrays.pop("structure").tobytes())
    return _decode(structure, [arrays[f"a{index}"] for index in range(len(arrays))])


def _read(path: Path):
    """The value an entry holds; ``None, False`` when it is missing, damaged or not a regular file."""
    try:
        status = os.lstat(path)
        if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_ENTRY_BYTES:
            return None, False
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with open(descriptor, "rb") as handle:
            stored = handle.read()
    except OSError:
        return None, False
    header, digest, payload = stored[: len(FORMAT)], stored[len(FORMAT) : len(FORMAT) + 65], stored[len(FORMAT) + 65 :]
    if header != FORMAT or digest != hashlib.sha256(payload).hexdigest().encode() + b"\n":
        return None, False
    try:
        return _value(payload), True
    except Exception:  # a damaged entry is one to compute again, whatever broke in reading it
        return None, False


def _write(path: Path, payload: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(FORMAT + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _remembered(key: str, produce):
    """``produce()``, kept under ``key``; fresh and cached results come back through the same format."""
    folder = location()
    if writable(folder):
        entry = folder / "entries" / key
        try:
            with exclusive(folder / "locks" / key):
                value, found = _read(entry)
                if found:
                    return value
                payload = _payload(produce())
                try:
                    if len(payload) < MAX_ENTRY_BYTES:
                        _write(entry, payload)
                except OSError:
                    pass  # an entry that cannot be written (a folder in its place): the result stands uncached
                return _value(payload)
        except LockError:
            pass  # a lock that cannot be taken: compute without caching
    return _value(_payload(produce()))


# --- the two kinds of entry ------------------------------------------------------------------------------

def _fingerprint(value):
    """What identifies an argument: a Keras model by its architecture and weights, containers item by item."""
    if hasattr(value, "to_json") and hasattr(value, "get_weights"):
        return ("keras model", value.to_json(), value.get_weights())
    if type(value) in (list, tuple):
        return type(value)(_fingerprint(item) for item in value)
    if type(value) is dict:
        return {key: _fingerprint(item) for key, item in value.items()}
    return value


def computed(function, *args, **kwargs):
    """``function(*args, **kwargs)``, from the cache when it holds it.

    For a computation that takes long (a descent, a sweep, a judge's verdicts):
    a chapter whose prose alone changed then executes in seconds. ``function``
    must be a module-level function (or one defined in a notebook cell) that
    depends only on its arguments and the project's code: a closure is refused,
    since what it captured would not be part of the key. The result may be
    numpy arrays, numbers, strings, lists, tuples, dicts and the project's own
    objects (dataclasses such as a preimage) made of them. A fresh and a cached
    result are identical: the same types, the same arrays bit for bit.
    """
    if not callable(function) or getattr(getattr(function, "__code__", None), "co_freevars", ()):
        raise UncacheableError(f"{_name(function)} is not a module-level function, so no cache key can cover it")
    key = joblib.hash(("computed", _name(function), _fingerprint(args), _fingerprint(kwargs),
                       computation_code_version(function)))
    return _remembered(key, lambda: function(*args, **kwargs))


def _keras_only(config) -> bool:
    """Whether every class a Keras configuration names comes from Keras itself."""
    if isinstance(config, dict):
        module = config.get("module")
        if module is not None and not (isinstance(module, str) and module.split(".")[0] == "keras"):
            return False
        return all(_keras_only(item) for item in config.values())
    if isinstance(config, list):
        return all(_keras_only(item) for item in config)
    return True


def _model_from(architecture: str, weights: list):
    """The Keras model an entry describes: its architecture rebuilt in safe mode, its weights set (not compiled)."""
    import keras

    if not _keras_only(json.loads(architecture)):
        raise ValueError("a cached architecture names a class from outside Keras")
    model = keras.models.model_from_json(architecture)
    model.set_weights(weights)
    return model


def trained(recipe, **arguments):
    """``(model, extras)`` of ``recipe(**arguments)``, from the cache when it holds them.

    ``recipe`` trains and returns ``(keras_model, extras)``. A fresh and a
    cached result are identical: the same weights, bit for bit, and the same
    extras. An entry that is damaged, or whose architecture cannot be rebuilt
    safely, is trained again and replaced.
    """
    key = joblib.hash(("trained", _name(recipe), arguments, training_code_version(recipe)))

    def train():
        model, extras = recipe(**arguments)
        return {"architecture": model.to_json(), "weights": model.get_weights(), "extras": extras}

    entry = _remembered(key, train)
    try:
        model = _model_from(entry["architecture"], entry["weights"])
    except Exception:  # an entry Keras cannot rebuild is trained again, never trusted
        (location() / "entries" / key).unlink(missing_ok=True)
        entry = _remembered(key, train)
        model = _model_from(entry["architecture"], entry["weights"])
    return model, entry["extras"]


def main() -> int:
    """``python -m nninv_book.cache``: say (once per build) when results cannot be cached."""
    folder = location()
    part = unwritable_part(folder)
    if part is not None:
        what = "it is not a folder" if part.exists() and not part.is_dir() else "it cannot be written"
        print(
            f"note: the cache folder {part} cannot be used ({what}), so every network is trained and every "
            f"computation run afresh; point {ENVIRONMENT_VARIABLE} at a writable folder, or remove what is in the way",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
