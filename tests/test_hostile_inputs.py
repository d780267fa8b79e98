"""Hostile input to the book's own code (PARAMS, the MNIST loader, the cache, locks, claims, recording and wording):
every case is refused with an error that names its culprit and cause, or gives a result checked to be right.
No case may return a wrong result silently, hang (each runs in a thread with a time limit), or fail with a raw
error from Python, numpy or zipfile.

Each case is ``(claim, call, verdict)``; ``call(folder)`` gets a fresh temporary folder. Patterns match the
culprit's name and the cause, never a computed number's printed digits.
"""

import hashlib
import io
import json
import os
import pickle
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from nninv_book import cache, claims, data, locks, parameters, record, stats, wording
from nninv_book.parameters import ParameterError


@dataclass(frozen=True)
class Refused:
    error: type | tuple
    cause: str


@dataclass(frozen=True)
class Correct:
    check: Callable[[object], bool]


CASES = []


def case(claim, call, verdict):
    CASES.append(pytest.param(call, verdict, id=claim))


# --- PARAMS, read by parameters.resolve against a chapter of known rules -----------------------------------
CHAPTER = '''# A

```{code-cell} ipython3
:tags: [parameters]
epochs: "int [1, 1000]" = 10
rate: "float (0, 1]" = 0.01
levels: "list of float [0, 10]" = [0.0, 0.5]
fail: "bool" = False
```
'''


def resolved(params):
    def call(folder):
        chapter = folder / "01_a.md"
        chapter.write_text(CHAPTER)
        return parameters.resolve(params, [chapter])[chapter.resolve()]
    return call


for params, culprit, cause in [
    ("-p epochs 1000000000", "epochs", "at most"), ("-p epochs 0", "epochs", "at least"), ("-p epochs -1", "epochs", "at least"),
    ("-p epochs 1.5", "epochs", "whole number"), ("-p epochs 10.0", "epochs", "whole number"),
    ("-p epochs True", "epochs", "whole number"), ("-p epochs '[1]'", "epochs", "whole number"),
    ("-p epochs 'x; rm -rf /'", "epochs", "whole number"), ("-p epochs '$(touch planted)'", "epochs", "whole number"),
    ("-p epochs '`id`'", "epochs", "whole number"), ("-p epochs '|| true'", "epochs", "whole number"),
    ("-p epochs ''", "epochs", "whole number"), ("-p epochs None", "epochs", "whole number"),
    ("-p epochs " + "9" * 5000, "epochs", "at most"), ("-p epochs " + "[" * 5000, "epochs", "whole number"),
    ("-p epochs 1e3", "epochs", "whole number"), ("-p epochs ３", "epochs", "whole number"), ("-p epochs '\x00'", "epochs", "whole number"),
    ("-p epochs inf", "epochs", "whole number"), ("-p epochs nan", "epochs", "whole number"), ("-r epochs 3", "epochs", "whole number"),
    ("-p rate 1e300", "rate", r"in \(0, 1\]"), ("-p rate nan", "rate", "finite number"), ("-p rate inf", "rate", "finite number"),
    ("-p rate -inf", "rate", "finite number"), ("-p rate 0", "rate", r"in \(0, 1\]"), ("-p rate -0.0", "rate", r"in \(0, 1\]"),
    ("-p rate 1e-400", "rate", r"in \(0, 1\]"), ("-p rate 1e308", "rate", r"in \(0, 1\]"), ("-p rate 0.5j", "rate", "finite number"),
    ("-p rate '[0.1]'", "rate", "finite number"), ("-p rate None", "rate", "finite number"), ("-p rate é", "rate", "finite number"),
    ("-p levels 0.1", "levels", "non-empty list"), ("-p levels '[]'", "levels", "non-empty list"),
    ("-p levels '[nan]'", "levels", "entry that must be a finite number"), ("-p levels '[0.1, inf]'", "levels", "entry that must be a finite"),
    ("-p levels '[-inf]'", "levels", "entry that must be a finite"), ("-p levels '[1e400]'", "levels", "entry that must be a finite"),
    ("-p levels '[11]'", "levels", "entry that must be a number in"), ("-p levels '[-1]'", "levels", "entry that must be a number in"),
    ("-p levels '[[0.1]]'", "levels", "entry"), ("-p levels \"['a']\"", "levels", "entry"), ("-p levels '[True]'", "levels", "entry"),
    ("-p levels '[" + ", ".join(["0.0"] * 101) + "]'", "levels", "at most 100 entries"), ("-p levels '{0.1}'", "levels", "list"),
    ("-p levels '{\"a\": 1}'", "levels", "list"), ("-p levels '[0.1'", "levels", "list"),
    ("-p fail 1", "fail", "True or False"), ("-p fail yes", "fail", "True or False"), ("-p fail true", "fail", "True or False"),
    ("-p fail None", "fail", "True or False"), ("-r fail True", "fail", "True or False"),
]:
    case(f"params_{params[:40]!r}_is_refused_naming_{culprit}", resolved(params),
         Refused(ParameterError, rf"parameter {culprit} .*{cause}"))
for params, culprit in [("-p épochs 3", "épochs"), ("-p '' 3", "''"), ("-p Epochs 3", "Epochs"), ("-p 'epochs;id' 3", "'epochs;id'"),
                        ("-p __class__ 3", "__class__"), ("-p seed 3", "seed")]:
    case(f"an_unknown_name_{culprit}_is_refused_with_the_valid_names", resolved(params),
         Refused(ParameterError, rf"no chapter has a parameter named {culprit}; the parameters are: epochs"))
for params, cause in [("-p", "lacks a value"), ("-p epochs", "lacks a value"), ("epochs 3", "is not -p or -r"),
                      ("-p epochs 3 -p", "lacks a value"), ("-p epochs \"'unterminated", "cannot be read"), ("--epochs 3", "is not -p or -r"),
                      ("-x epochs 3", "is not -p or -r")]:
    case(f"params_{params!r}_that_are_not_pairs_are_refused", resolved(params), Refused(ParameterError, f"PARAMS .*{cause}"))
for params, expected in [("", {}), ("-p epochs 1000", {"epochs": 1000}), ("-p epochs 1", {"epochs": 1}), ("-p rate 1", {"rate": 1}),
                         ("-p epochs 0x10", {"epochs": 16}), ("-p epochs 1_000", {"epochs": 1000}),
                         ("-p levels '(0.1, 0.2)'", {"levels": [0.1, 0.2]}), ("-p levels '[1, 2]'", {"levels": [1, 2]}),
                         ("-p fail True", {"fail": True}), ("--parameters epochs 5", {"epochs": 5}),
                         ("-p epochs 3 -p epochs 4", {"epochs": 4}), ("-p  epochs   7  ", {"epochs": 7}),
                         ("-p levels '[" + ", ".join(["1"] * 100) + "]'", {"levels": [1] * 100})]:
    case(f"params_{params[:40]!r}_are_read_as_papermill_reads_them", resolved(params), Correct(lambda got, e=expected: got == e))

# The book's own chapters: a billion epochs and a step size of 1e300 are refused before anything runs.
for params, culprit in [("-p epochs 1000000000", "epochs"), ("-p learning_rate 1e300", "learning_rate")]:
    case(f"the_books_{culprit}_of_{params.split()[-1]}_is_refused_by_name",
         lambda folder, p=params: parameters.resolve(p, sorted(parameters.CHAPTERS.glob("*.md"))),
         Refused(ParameterError, rf"parameter {culprit} must be"))

# parameters.check, as a chapter calls it on its globals.
ANNOTATED = {"epochs": "int [1, 1000]", "rate": "float (0, 1]", "fail": "bool", "levels": "list of float [0, 10]"}


def checked(name, value):
    return lambda folder: parameters.check({"__annotations__": {name: ANNOTATED[name]}, name: value})


for name, value, cause in [("rate", 10 ** 400, r"number in \(0, 1\]"), ("rate", float("nan"), "finite"), ("rate", np.float64("inf"), "finite"),
                           ("rate", "0.1", "finite"), ("rate", 1 + 0j, "finite"), ("rate", np.array([0.1]), "finite"),
                           ("epochs", np.float32(5), "whole number"), ("epochs", 10 ** 400, "at most"), ("epochs", np.bool_(True), "whole number"),
                           ("fail", np.int64(1), "True or False"), ("levels", np.array([0.1]), "list"), ("levels", [np.nan], "entry")]:
    case(f"check_refuses_{name}_of_{type(value).__name__}_by_name", checked(name, value), Refused(ParameterError, f"parameter {name} .*{cause}"))
for name, value in [("epochs", np.int64(5)), ("rate", np.float32(0.5)), ("fail", np.bool_(False)), ("levels", (0.0, 1.0))]:
    case(f"check_accepts_a_numpy_{type(value).__name__}_{name}_that_obeys_its_rule", checked(name, value), Correct(lambda got: got is None))
case("check_refuses_what_is_not_a_mapping", lambda folder: parameters.check([1, 2]), Refused(TypeError, "mapping of names to values"))
case("check_refuses_annotations_that_are_not_a_mapping", lambda folder: parameters.check({"__annotations__": "x", "x": 1}),
     Refused(TypeError, "__annotations__ must map"))
case("a_relation_never_runs_on_a_value_without_a_rule",
     lambda folder: parameters.check({"__annotations__": {"x": "int [1, 2]"}, "x": 1, "relu_expansions": []}), Correct(lambda got: got is None))
case("a_broken_relation_is_refused_naming_both_parameters",
     lambda folder: parameters.check({"__annotations__": {"n_descent": "int [1, 100]", "n_judge": "int [1, 100]"}, "n_descent": 5, "n_judge": 3}),
     Refused(ParameterError, "n_descent must not exceed n_judge"))
case("parse_refuses_params_that_are_not_text", lambda folder: parameters.parse(None), Refused(TypeError, "PARAMS must be text"))
case("parse_refuses_params_given_as_bytes", lambda folder: parameters.parse(b"-p epochs 3"), Refused(TypeError, "PARAMS must be text"))
for annotation, cause in [("int", "needs an interval"), ("float [nan, 1]", "not two finite numbers"), ("float [0, inf]", "not two finite"),
                          ("float [1, 0]", "low first"), ("int [a, b]", "not two finite"), ("bool [0, 1]", "bool takes no interval"),
                          ("list of bool", "not a rule"), ("str", "not a rule"), ("", "not a rule"), (None, "not a rule"), (3, "not a rule"),
                          ("int [1e400, 2]", "not two finite"), ("int [1, 2", "not a rule"), ("int [__import__('os'), 2]", "not two finite"),
                          ("list of list of int [0, 1]", "not a rule")]:
    case(f"the_rule_{annotation!r}_is_refused_naming_its_parameter", lambda folder, a=annotation: parameters.rule("x", a),
         Refused(ParameterError, f"parameter x.*{cause}"))

# --- the MNIST loader ----------------------------------------------------------------------------------
REAL = data.MNIST_PATH


def real_bytes():
    return REAL.read_bytes()


def written(content):
    def make(folder):
        path = folder / "mnist.npz"
        path.write_bytes(content() if callable(content) else content)
        return path
    return make


def flipped(offset):
    def content():
        damaged = bytearray(real_bytes())
        damaged[offset] ^= 0xFF
        return bytes(damaged)
    return content


def archive(members):
    """An npz archive of ``members``: name -> bytes of the member, or (bytes, compression)."""
    def content():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zipped:
            for name, member in members().items():
                body, method = member if isinstance(member, tuple) else (member, zipfile.ZIP_DEFLATED)
                zipped.writestr(name, body, compress_type=method)
        return buffer.getvalue()
    return content


def npy(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def each(make):
    return lambda: {f"{name}.npy": make(name, shape, dtype) for name, (shape, dtype) in data.LAYOUT.items()}


def header_only(shape, descr="|u1"):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def linked(target):
    def make(folder):
        path = folder / "mnist.npz"
        os.symlink(target(folder) if callable(target) else target, path)
        return path
    return make


def special(kind):
    def make(folder):
        path = folder / "mnist.npz"
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "folder":
            path.mkdir()
        elif kind == "sparse":
            with open(path, "wb") as handle:
                handle.truncate(data.MAX_BYTES + 1)
        return path
    return make


def loaded(make, digest=None):
    def call(folder):
        path = make(folder)
        return data.load_mnist(path, digest(folder) if digest else data.DIGEST_PATH)
    return call


CORRUPT = r"is corrupt: it cannot be read as an \.npz archive"
for label, make, cause in [
    ("a_link_to_dev_zero", linked("/dev/zero"), "is a character device, not a regular file"),
    ("a_link_to_dev_urandom", linked("/dev/urandom"), "is a character device, not a regular file"),
    ("a_link_to_dev_null", linked("/dev/null"), "is a character device, not a regular file"),
    ("a_fifo", special("fifo"), "is a FIFO, not a regular file"),
    ("a_link_to_a_fifo", linked(lambda folder: (os.mkfifo(folder / "pipe"), folder / "pipe")[1]), "is a FIFO, not a regular file"),
    ("a_folder", special("folder"), "is a folder, not a regular file"),
    ("a_file_larger_than_mnist_can_be", special("sparse"), "more than MNIST can take"),
    ("an_empty_file", written(b""), CORRUPT), ("a_text_file", written(b"hello"), CORRUPT),
    ("the_first_half_of_mnist", written(lambda: real_bytes()[: len(real_bytes()) // 2]), CORRUPT),
    ("mnist_without_its_last_bytes", written(lambda: real_bytes()[:-10]), CORRUPT),
    ("mnist_with_its_first_byte_flipped", written(flipped(0)), CORRUPT),
    ("mnist_with_a_byte_flipped_in_its_data", written(flipped(100)), CORRUPT),
    ("mnist_with_a_byte_flipped_further_in", written(flipped(1000)), CORRUPT),
    ("mnist_with_a_byte_flipped_in_the_middle", written(lambda: flipped(len(real_bytes()) // 2)()), CORRUPT),
    ("mnist_with_a_member_name_flipped", written(lambda: flipped(len(real_bytes()) - 30)()), "holds the members"),
    ("an_archive_with_an_extra_member", written(archive(lambda: {**each(lambda n, s, d: npy(np.zeros(s, d)))(), "evil.pkl": b"x"})), "holds the members"),
    ("an_archive_missing_members", written(archive(lambda: {"x_train.npy": b"x"})), "holds the members"),
    ("an_archive_of_bzip2_members", written(archive(each(lambda n, s, d: (npy(np.zeros(s, d)), zipfile.ZIP_BZIP2)))), "compression method"),
    ("an_archive_of_lzma_members", written(archive(each(lambda n, s, d: (npy(np.zeros(s, d)), zipfile.ZIP_LZMA)))), "compression method"),
    ("members_declaring_a_terabyte_array", written(archive(each(lambda n, s, d: header_only((10 ** 12,))))), r"'x_train' has shape"),
    ("members_of_the_wrong_dtype", written(archive(each(lambda n, s, d: header_only(s, "<f8")))), r"'x_train' has shape .* and dtype float64"),
    ("members_of_object_arrays", written(archive(each(lambda n, s, d: npy(np.array([None, 1], dtype=object), True)))), "dtype object"),
    ("members_with_data_beyond_the_array", written(archive(each(lambda n, s, d: npy(np.zeros(s, d)) + b"\0" * 1000))), "holds data beyond its array"),
    ("members_cut_short", written(archive(each(lambda n, s, d: npy(np.zeros(s, d))[:-100]))), CORRUPT),
    ("members_with_a_garbled_header", written(archive(each(lambda n, s, d: b"\x93NUMPY\x01\x00\x10\x00{'descr': garbage" + b" " * 100))), CORRUPT),
    ("members_of_npy_version_3", written(archive(each(lambda n, s, d: b"\x93NUMPY\x03\x00\x10\x00\x00\x00" + b" " * 16))), "format version"),
    ("members_that_are_not_npy", written(archive(each(lambda n, s, d: b"not an array"))), CORRUPT),
    ("labels_above_nine", written(archive(each(lambda n, s, d: npy(np.full(s, 200 if n.startswith("y") else 0, d))))), "holds labels above 9"),
    ("arrays_of_the_right_layout_but_other_pixels", written(archive(each(lambda n, s, d: npy(np.zeros(s, d))))), "has content digest .* but .* records"),
]:
    case(f"{label}_as_mnist_is_refused_by_name", loaded(make), Refused(data.DataIntegrityError, rf"mnist\.npz.*{cause}"))
for label, make in [("a_missing_file", lambda folder: folder / "mnist.npz"), ("a_dangling_link", linked(lambda folder: folder / "nowhere")),
                    ("a_link_to_itself", linked(lambda folder: folder / "mnist.npz"))]:
    case(f"{label}_as_mnist_says_to_run_make_data", loaded(make), Refused(FileNotFoundError, r"mnist\.npz does not exist: run `make data`"))
case("mnist_with_a_byte_flipped_in_its_central_directory_still_loads_the_verified_data",
     loaded(written(lambda: flipped(len(real_bytes()) - 100)())), Correct(lambda got: got[0][0].shape == (60000, 28, 28)))
case("mnist_read_through_a_link_to_the_real_file_is_verified_and_loaded", loaded(linked(REAL)),
     Correct(lambda got: got[1][1].shape == (10000,) and got[0][1].max() == 9))
case("a_path_that_is_not_a_path_is_refused_by_name", lambda folder: data.load_mnist(3), Refused(TypeError, "path must be a path"))
case("a_digest_path_of_none_is_refused_by_name", lambda folder: data.load_mnist(REAL, None), Refused(TypeError, "digest_path must be a path"))


def digest_file(content=None, kind=None):
    def make(folder):
        path = folder / "mnist.sha256"
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "zero":
            os.symlink("/dev/zero", path)
        elif kind == "folder":
            path.mkdir()
        elif content is not None:
            path.write_bytes(content() if callable(content) else content)
        return path
    return make


for label, make, cause in [("empty", digest_file(b""), "is empty or holds no SHA-256"), ("garbage", digest_file(b"zzz"), "is empty or holds no SHA-256"),
                           ("binary", digest_file(bytes(range(256)) * 3), "is empty or holds no SHA-256"), ("missing", digest_file(), "is missing"),
                           ("a_folder", digest_file(kind="folder"), "is a folder"), ("a_fifo", digest_file(kind="fifo"), "is a FIFO"),
                           ("a_link_to_dev_zero", digest_file(kind="zero"), "is a character device"),
                           ("a_short_digest", digest_file(b"abc123"), "is empty or holds no SHA-256")]:
    case(f"a_recorded_digest_file_that_is_{label}_is_refused_by_name", loaded(lambda folder: REAL, make),
         Refused(data.DataIntegrityError, rf"recorded digest file .*mnist\.sha256 {cause}"))
case("a_recorded_digest_of_another_file_refuses_mnist", loaded(lambda folder: REAL, digest_file(b"0" * 64)),
     Refused(data.DataIntegrityError, r"mnist\.npz has content digest .* but .*mnist\.sha256 records"))
case("a_recorded_digest_in_capitals_is_the_same_digest", loaded(lambda folder: REAL, digest_file(lambda: data.expected_digest().upper().encode())),
     Correct(lambda got: got[0][0].shape == (60000, 28, 28)))
for label, args, culprit in [("a_reference_of_none", (10, 0, 0), "reference_size"), ("a_reference_of_all", (10, 10, 0), "reference_size"),
                             ("a_fractional_reference", (10, 2.5, 0), "reference_size"), ("a_text_reference", (10, "2", 0), "reference_size"),
                             ("a_nan_reference", (10, float("nan"), 0), "reference_size"), ("a_text_seed", (10, 2, "x"), "seed"),
                             ("a_negative_seed", (10, 2, -1), "seed"), ("a_fractional_n", (10.5, 2, 0), "n, the number of training images,"),
                             ("a_boolean_n", (True, 1, 0), "n, the number of training images,")]:
    case(f"training_split_refuses_{label}_by_name", lambda folder, a=args: data.training_split(*a), Refused(ValueError, rf"{culprit} must be"))
case("training_split_with_numpy_sizes_is_two_disjoint_parts", lambda folder: data.training_split(np.int64(10), np.int64(3), np.int64(1)),
     Correct(lambda got: len(got[1]) == 3 and set(got[0]).isdisjoint(got[1]) and len(set(got[0]) | set(got[1])) == 10))
for label, images in [("one_flat_image", np.zeros(784, np.uint8)), ("images_already_in_0_1", np.zeros((2, 28, 28))),
                      ("images_of_another_size", np.zeros((2, 14, 14), np.uint8)), ("flat_rows", np.zeros((2, 784), np.uint8))]:
    case(f"as_inputs_refuses_{label}_by_shape_or_dtype", lambda folder, i=images: data.as_inputs(i), Refused(ValueError, "as_inputs takes MNIST images"))
case("as_inputs_scales_uint8_images_to_0_1", lambda folder: data.as_inputs(np.full((2, 28, 28), 255, np.uint8)),
     Correct(lambda got: got.shape == (2, 784) and np.all(got == 1.0)))

# --- the cache -----------------------------------------------------------------------------------------
CALLS = []


def computation(x, k=1):
    CALLS.append(1)
    return {"a": np.asarray(x) * k, "t": (1, "s", None, 2.5, True)}


def in_cache(folder):
    os.environ[cache.ENVIRONMENT_VARIABLE] = str(folder / "cache")
    cache.computed(computation, np.arange(3))
    return next((folder / "cache" / "entries").iterdir())


def plant(entry, payload):
    entry.write_bytes(cache.FORMAT + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)


def structure(node, arrays=None):
    buffer = io.BytesIO()
    np.savez(buffer, structure=np.frombuffer(json.dumps(node).encode(), np.uint8), **(arrays or {}))
    return buffer.getvalue()


RAN = []


class Planted:
    def __reduce__(self):
        return (RAN.append, ("code from the cache ran",))


def damaged(damage):
    def call(folder):
        entry = in_cache(folder)
        damage(entry, folder)
        before = len(CALLS)
        result = cache.computed(computation, np.arange(3))
        return result, len(CALLS) - before
    return call


def recomputed(got):
    result, runs = got
    return runs == 1 and result["a"].tolist() == [0, 1, 2] and result["t"] == (1, "s", None, 2.5, True) and not RAN


def replaced(make):
    def damage(entry, folder):
        entry.unlink()
        make(entry)
    return damage


for label, damage in [
    ("truncated", lambda e, f: e.write_bytes(e.read_bytes()[: len(e.read_bytes()) // 2])),
    ("emptied", lambda e, f: e.write_bytes(b"")),
    ("flipped_in_its_payload", lambda e, f: e.write_bytes(e.read_bytes()[:-50] + bytes([e.read_bytes()[-50] ^ 1]) + e.read_bytes()[-49:])),
    ("flipped_in_its_digest", lambda e, f: e.write_bytes(e.read_bytes()[:20] + b"0" + e.read_bytes()[21:])),
    ("of_another_format", lambda e, f: e.write_bytes(b"nninv-cache 1\n" + e.read_bytes()[len(cache.FORMAT):])),
    ("a_pickle_that_runs_code_without_a_digest", lambda e, f: e.write_bytes(pickle.dumps(Planted()))),
    ("a_pickle_that_runs_code_with_a_right_digest", lambda e, f: plant(e, pickle.dumps(Planted()))),
    ("naming_a_class_from_outside_the_project", lambda e, f: plant(e, structure({"object": "os:system", "state": {"dict": []}}))),
    ("naming_subprocess_popen", lambda e, f: plant(e, structure({"object": "subprocess:Popen", "state": {"dict": []}}))),
    ("naming_a_project_function_not_a_class", lambda e, f: plant(e, structure({"object": "nninv_book.cache:location", "state": {"dict": []}}))),
    ("with_an_object_state_that_is_not_a_dict", lambda e, f: plant(e, structure({"object": "nninv_book.stats:Rate", "state": 5}))),
    ("pointing_past_its_arrays", lambda e, f: plant(e, structure({"array": 7}))),
    ("of_an_unknown_kind", lambda e, f: plant(e, structure({"evil": 1}))),
    ("holding_an_object_array", lambda e, f: plant(e, structure({"array": 0}, {"a0": np.array([None], dtype=object)}))),
    ("whose_structure_is_a_pickled_array", lambda e, f: plant(e, (lambda b: (np.savez(b, structure=np.array([1], dtype=object), allow_pickle=True), b.getvalue())[1])(io.BytesIO()))),
    ("whose_structure_is_not_json", lambda e, f: plant(e, (lambda b: (np.savez(b, structure=np.frombuffer(b"{no", np.uint8)), b.getvalue())[1])(io.BytesIO()))),
    ("replaced_by_a_folder", replaced(lambda e: e.mkdir())),
    ("replaced_by_a_link_to_dev_zero", replaced(lambda e: os.symlink("/dev/zero", e))),
    ("replaced_by_a_fifo", replaced(lambda e: os.mkfifo(e))),
    ("replaced_by_a_huge_sparse_file", replaced(lambda e: (e.write_bytes(b""), os.truncate(e, 3 * 2 ** 30)))),
    ("with_its_lock_replaced_by_a_fifo", lambda e, f: (e.unlink(), (f / "cache" / "locks" / e.name).unlink(), os.mkfifo(f / "cache" / "locks" / e.name))),
]:
    case(f"a_cache_entry_{label}_is_computed_again_and_never_run", damaged(damage), Correct(recomputed))
case("a_planted_entry_with_a_right_digest_gives_at_worst_its_planted_numbers_and_runs_nothing",
     damaged(lambda e, f: plant(e, structure({"dict": [["a", {"array": 0}], ["t", {"tuple": [1]}]]}, {"a0": np.array([9, 9, 9])}))),
     Correct(lambda got: got[1] == 0 and got[0]["a"].tolist() == [9, 9, 9] and not RAN))


def cache_at(make):
    def call(folder):
        os.environ[cache.ENVIRONMENT_VARIABLE] = str(make(folder))
        before = len(CALLS)
        return cache.computed(computation, np.arange(4), k=2), len(CALLS) - before, cache.main()
    return call


for label, make in [
    ("a_file", lambda f: (f / "afile").write_text("x") and f / "afile"),
    ("dev_null", lambda f: Path("/dev/null")),
    ("with_a_file_for_its_locks", lambda f: ((f / "c").mkdir(), (f / "c" / "locks").write_text("x"), f / "c")[-1]),
    ("with_a_file_for_its_entries", lambda f: ((f / "c").mkdir(), (f / "c" / "entries").write_text("x"), f / "c")[-1]),
    ("under_a_file", lambda f: ((f / "afile").write_text("x"), f / "afile" / "cache")[-1]),
]:
    case(f"a_cache_folder_that_is_{label}_computes_uncached_and_right", cache_at(make),
         Correct(lambda got: got[0]["a"].tolist() == [0, 2, 4, 6] and got[1] == 1 and got[2] == 0))
for label, function, error, cause in [
    ("a_closure", (lambda z: (lambda: z))(3), cache.UncacheableError, "not a module-level function"),
    ("something_not_callable", 3, cache.UncacheableError, "not a module-level function"),
    ("a_builtin_without_source", set, cache.UncacheableError, "source of builtins.set cannot be read"),
]:
    case(f"the_cache_refuses_{label}_by_name", lambda folder, fn=function: cache.computed(fn), Refused(error, cause))
case("the_cache_refuses_an_object_array_result", lambda folder: (in_cache(folder), cache.computed(np.array, [None], dtype=object)),
     Refused(cache.UncacheableError, "dtype object cannot be kept without pickling"))

# --- locks ---------------------------------------------------------------------------------------------


def taken(make):
    def call(folder):
        with locks.exclusive(make(folder)):
            return "held"
    return call


for label, make, cause in [
    ("under_a_file", lambda f: ((f / "afile").write_text("x"), f / "afile" / "x.lock")[-1], "lock folder .*afile is not a folder"),
    ("deep_under_a_file", lambda f: ((f / "afile").write_text("x"), f / "afile" / "a" / "b.lock")[-1], "lock folder .*afile is not a folder"),
    ("a_folder", lambda f: ((f / "x.lock").mkdir(), f / "x.lock")[-1], r"lock file .*x\.lock is a folder"),
    ("a_fifo", lambda f: (os.mkfifo(f / "x.lock"), f / "x.lock")[-1], r"lock file .*x\.lock is not a regular file"),
    ("a_link_to_dev_null", lambda f: (os.symlink("/dev/null", f / "x.lock"), f / "x.lock")[-1], r"lock file .*x\.lock is not a regular file"),
    ("a_dangling_link_into_a_missing_folder", lambda f: (os.symlink(f / "no" / "x", f / "x.lock"), f / "x.lock")[-1], r"cannot take the lock .*x\.lock"),
]:
    case(f"a_lock_{label}_is_refused_by_name", taken(make), Refused(locks.LockError, cause))
    case(f"the_preflight_tells_a_lock_{label}_or_takes_it", lambda folder, m=make: (locks.problem(m(folder)), locks.main(["--check", str(folder / "x.lock")])),
         Correct(lambda got: (got[0] is not None) or got[1] == 0))
case("a_lock_of_none_is_refused_by_name", taken(lambda f: None), Refused(TypeError, "a lock is a path"))
case("a_lock_in_a_new_folder_is_taken", taken(lambda f: f / "new" / "deeper" / "x.lock"), Correct(lambda got: got == "held"))
case("a_lock_that_is_already_a_file_is_taken", taken(lambda f: ((f / "x.lock").write_text("old"), f / "x.lock")[-1]), Correct(lambda got: got == "held"))
case("a_command_that_does_not_exist_under_a_lock_is_told", lambda folder: locks.main([str(folder / "x.lock"), str(folder / "no-such-command")]),
     Correct(lambda got: got == 127))
case("the_lock_command_without_a_command_prints_its_usage", lambda folder: locks.main([str(folder / "x.lock")]), Correct(lambda got: got == 2))

# --- claims and record ---------------------------------------------------------------------------------
for name, holds, statement, error, cause in [
    ("Bad Name", True, "s", ValueError, "claim's name is lowercase"), ("", True, "s", ValueError, "claim's name"), (3, True, "s", ValueError, "claim's name"),
    ("é", True, "s", ValueError, "claim's name"), ("a;rm -rf", True, "s", ValueError, "claim's name"), ("ok", 1, "s", TypeError, "claim ok: holds must be a Python bool"),
    ("ok", np.bool_(True), "s", TypeError, "claim ok: holds must be a Python bool .*numpy"), ("ok", None, "s", TypeError, "claim ok: holds must be"),
    ("ok", "True", "s", TypeError, "claim ok: holds must be"), ("ok", True, "", ValueError, "claim ok needs a statement"),
    ("ok", True, "   ", ValueError, "claim ok needs a statement"), ("ok", True, None, ValueError, "claim ok needs a statement"),
    ("ok", False, "it holds", claims.ClaimError, "claim ok fails at the chapter's defaults"),
]:
    case(f"the_claim_{name!r}_{type(holds).__name__}_{statement!r}_is_refused_by_name",
         lambda folder, a=(name, holds, statement): claims.claim(*a, at_defaults=True), Refused(error, cause))


def notebook(content):
    def call(folder):
        path = folder / "chapter.ipynb"
        path.write_text(content)
        return claims.claims(path)
    return call


for label, content in [("not_json", "{not json"), ("without_cells", "{}"), ("a_list", "[]"),
                       ("with_a_claim_without_its_statement", json.dumps({"cells": [{"outputs": [{"metadata": {"nninv_claim": {"name": "x"}}}]}]})),
                       ("with_scrapbook_text", json.dumps({"cells": [{"outputs": [{"metadata": {"scrapbook": "x"}}]}]})),
                       ("with_cells_that_are_numbers", json.dumps({"cells": [1, 2]}))]:
    case(f"a_notebook_{label}_is_refused_by_name", notebook(content), Refused(ValueError, r"chapter\.ipynb is not an executed notebook"))
case("the_claims_report_of_a_damaged_notebook_is_one_error_line",
     lambda folder: ((folder / "c.ipynb").write_text("{no"), claims.main(["report", str(folder / "c.ipynb")]))[1], Correct(lambda got: got == 1))
case("the_claims_report_skips_a_missing_notebook", lambda folder: claims.main(["report", str(folder / "none.ipynb")]), Correct(lambda got: got == 0))
for value, error, cause in [(np.float32(np.nan), ValueError, "result x is nan"), (np.float64(np.inf), ValueError, "result x is inf"),
                            (np.longdouble("1e4000"), ValueError, "result x is inf"), (np.array(1.5), TypeError, "result x is a ndarray"),
                            (None, TypeError, "result x is a NoneType"), ([1], TypeError, "result x is a list"), (b"x", TypeError, "result x is a bytes"),
                            (1 + 2j, TypeError, "result x is a complex")]:
    case(f"recording_{type(value).__name__}_{value!r}_is_refused_by_name", lambda folder, v=value: record.plain("x", v), Refused(error, cause))
for value, expected in [(np.int64(2 ** 62), 2 ** 62), (np.uint64(2 ** 64 - 1), 2 ** 64 - 1), (np.float16(65504), 65504.0), (-0.0, 0.0),
                        (np.bool_(True), True), ("text", "text")]:
    case(f"recording_{type(value).__name__}_gives_its_plain_python_value", lambda folder, v=value: record.plain("x", v),
         Correct(lambda got, e=expected: got == e and type(got) in (int, float, bool, str)))

# --- wording and stats ---------------------------------------------------------------------------------
for function in (wording.power_of_ten, wording.about, wording.duration):
    for value in (float("nan"), float("inf"), -float("inf"), "1", None, True, 10 ** 400):
        case(f"{function.__name__}_refuses_{value!r:.12}_by_name", lambda folder, f=function, v=value: f(v),
             Refused(ValueError, f"{function.__name__} needs a finite number"))
for digits in (0, -1, 1.5, "2", 100, True, None):
    case(f"about_refuses_{digits!r}_digits_by_name", lambda folder, d=digits: wording.about(1234.5, d), Refused(ValueError, "digits must be a whole number"))
for value, expected in [(1e308, "10³⁰⁸"), (5e-324, "10⁻³²⁴"), (-1.0, "−10⁰"), (0.0, "0")]:
    case(f"power_of_ten_of_{value!r}_is_right", lambda folder, v=value: wording.power_of_ten(v),
         Correct(lambda got, e=expected: got.endswith(e)))
case("a_negative_duration_is_refused_by_name", lambda folder: wording.duration(-1.0), Refused(ValueError, "duration needs a time of at least 0"))
for args, error, cause in [((0, 0), ValueError, "at least one trial"), ((-1, 5), ValueError, "successes must lie"), ((6, 5), ValueError, "successes must lie"),
                           ((1.5, 3), TypeError, "successes must be a whole number"), ((True, 3), TypeError, "successes must be a whole"),
                           ((1, 3, 0), ValueError, "confidence must be"), ((1, 3, 1), ValueError, "confidence must be"),
                           ((1, 3, float("nan")), ValueError, "confidence must be"), ((1, 3, "0.9"), ValueError, "confidence must be")]:
    case(f"wilson_interval_refuses_{args!r}_by_name", lambda folder, a=args: stats.wilson_interval(*a), Refused(error, cause))
case("wilson_interval_of_numpy_counts_is_inside_0_1_around_the_rate", lambda folder: stats.wilson_interval(np.int64(2), np.int64(4)),
     Correct(lambda got: 0 < got[0] < 0.5 < got[1] < 1))
for label, outcomes, error, cause in [("integers", [1, 0], TypeError, "correct must be an array of booleans"), ("a_matrix", np.array([[True]]), ValueError, "one-dimensional"),
                                      ("none", None, TypeError, "array of booleans"), ("text", "abc", TypeError, "array of booleans"),
                                      ("nan", [np.nan], TypeError, "array of booleans"), ("an_empty_boolean_array", np.array([], bool), ValueError, "correct is empty")]:
    case(f"a_rate_of_{label}_is_refused_by_name", lambda folder, o=outcomes: stats.rate(o), Refused(error, cause))
case("mcnemar_refuses_outcomes_of_different_images", lambda folder: stats.mcnemar_exact(np.ones(3, bool), np.ones(4, bool)),
     Refused(ValueError, "must judge the same images"))
case("mcnemar_of_symmetric_disagreement_has_p_one", lambda folder: stats.mcnemar_exact(np.array([True] * 10 + [False] * 10), np.array([False] * 10 + [True] * 10)),
     Correct(lambda got: got.p_value == 1.0 and got.a_only == got.b_only == 10))
case("format_rate_refuses_what_is_not_a_rate", lambda folder: stats.format_rate("x"), Refused(TypeError, "format_rate takes a Rate"))


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENVIRONMENT_VARIABLE, str(tmp_path / "default-cache"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def within(call, seconds=20):
    """``call()``'s result or error, run in a thread: a call still running after ``seconds`` fails the case as a hang."""
    outcome = {}

    def run():
        try:
            outcome["result"] = call()
        except BaseException as error:  # handed back to the test, which judges it
            outcome["error"] = error
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"hangs: still running after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


@pytest.mark.parametrize("call, verdict", CASES)
def test_hostile_input_to_the_book_is_refused_with_its_cause_or_answered_correctly(call, verdict, folder):
    if isinstance(verdict, Refused):
        with pytest.raises(verdict.error, match=verdict.cause):
            within(lambda: call(folder))
    else:
        assert verdict.check(within(lambda: call(folder)))


def test_the_campaign_covers_every_part_of_the_book_code():
    assert len(CASES) > 250, len(CASES)
