"""Reading the sandbox's output: bad files of every kind are refused with a clear message, good ones load."""

import json
import os
import pickle

import numpy as np
import pytest

from grader.sandbox.observations import ObservationError, read_array, read_json


def _symlink_to_passwd(out):
    os.symlink("/etc/passwd", out / "predictions.npy")


def _fifo(out):
    os.mkfifo(out / "predictions.npy")


def _object_array(out):
    np.save(out / "predictions.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)


def _pickle_named_npy(out):
    (out / "predictions.npy").write_bytes(pickle.dumps(np.zeros((4, 10), dtype=np.float32)))


def _integer_array(out):
    np.save(out / "predictions.npy", np.zeros((4, 10), dtype=np.int64))


def _wrong_shape(out):
    np.save(out / "predictions.npy", np.zeros((10, 3), dtype=np.float32))


def _wrong_rank(out):
    np.save(out / "predictions.npy", np.zeros((4, 10, 1), dtype=np.float32))


def _too_big(out):
    np.save(out / "predictions.npy", np.zeros((2**20, 10), dtype=np.float32))  # 40 MiB, limit below is 1 MiB


def _structured(out):
    np.save(out / "predictions.npy", np.zeros(4, dtype=[("x", "f4"), ("y", "i4")]))


def _truncated(out):
    data = (out / "full.npy")
    np.save(data, np.zeros((4, 10), dtype=np.float32))
    (out / "predictions.npy").write_bytes(data.read_bytes()[:-8])


def _header_claims_huge_array(out):
    header = {"descr": "<f4", "fortran_order": False, "shape": (10**12, 10)}
    with open(out / "predictions.npy", "wb") as file:
        np.lib.format.write_array_header_1_0(file, header)
        file.write(b"\0" * 16)


def _directory(out):
    (out / "predictions.npy").mkdir()


BAD_ARRAYS = [
    # (make the bad file, name read, what the message must say)
    (_symlink_to_passwd, "predictions.npy", "out/predictions.npy is a symbolic link; the sandbox must write plain files"),
    (_fifo, "predictions.npy", "out/predictions.npy is not a regular file"),
    (_object_array, "predictions.npy", "out/predictions.npy has dtype object; expected float"),
    (_pickle_named_npy, "predictions.npy", "out/predictions.npy is not a .npy file written by numpy.save"),
    (_integer_array, "predictions.npy", "out/predictions.npy has dtype int64; expected float"),
    (_wrong_shape, "predictions.npy", "out/predictions.npy has shape (10, 3); expected (None, 10)"),
    (_wrong_rank, "predictions.npy", "out/predictions.npy has shape (4, 10, 1); expected (None, 10)"),
    (_too_big, "predictions.npy", "out/predictions.npy is 40 MiB; at most 1 MiB is read"),
    (_structured, "predictions.npy", "out/predictions.npy has a structured dtype"),
    (_truncated, "predictions.npy", "the file is truncated or padded"),
    (_header_claims_huge_array, "predictions.npy", "the file is truncated or padded"),
    (_directory, "predictions.npy", "out/predictions.npy is a directory"),
    (lambda out: None, "predictions.npy", "out/predictions.npy is missing"),
    (lambda out: None, "../predictions.npy", "'../predictions.npy' is not a plain file name"),
    (lambda out: None, "..", "'..' is not a plain file name"),
]


@pytest.fixture
def out(tmp_path):
    directory = tmp_path / "out"
    directory.mkdir()
    return directory


@pytest.mark.parametrize("make, name, message", BAD_ARRAYS, ids=[case[0].__name__.strip("_") for case in BAD_ARRAYS])
def test_bad_arrays_are_refused_with_a_clear_message(out, make, name, message):
    make(out)
    with pytest.raises(ObservationError) as raised:
        read_array(out, name, dtype_kind="f", shape=(None, 10), max_bytes=2**20)
    assert message in str(raised.value)
    assert str(out.parent) not in str(raised.value), "messages must not reveal host paths"


def test_a_fifo_is_refused_without_blocking(out):
    # Opening a fifo with no writer would hang a naive reader forever.
    os.mkfifo(out / "results.json")
    with pytest.raises(ObservationError, match="not a regular file"):
        read_json(out, "results.json")


def test_good_arrays_load_with_their_values(out):
    expected = np.arange(40, dtype=np.float32).reshape(4, 10)
    np.save(out / "predictions.npy", expected)
    np.save(out / "labels.npy", np.arange(4, dtype=np.uint8))
    np.save(out / "weird.npy", np.array([np.nan, np.inf], dtype=np.float64))

    np.testing.assert_array_equal(read_array(out, "predictions.npy", shape=(None, 10)), expected)
    np.testing.assert_array_equal(read_array(out, "labels.npy", dtype_kind="iu", shape=(4,)), np.arange(4))
    weird = read_array(out, "weird.npy")
    assert np.isnan(weird[0]) and np.isinf(weird[1]), "NaN and inf are returned for callers to judge"


def test_dtype_kinds_name_what_was_expected(out):
    np.save(out / "labels.npy", np.zeros(3, dtype=np.float32))
    with pytest.raises(ObservationError, match="has dtype float32; expected signed integer or unsigned integer"):
        read_array(out, "labels.npy", dtype_kind="iu")


BAD_JSON = [
    (b"{'accuracy': 0.9}", "out/results.json is not valid JSON: Expecting property name enclosed in double quotes"),
    (b"", "out/results.json is not valid JSON"),
    (b"\xff\xfe{}", "out/results.json is not UTF-8 text"),
    (b"[" * 100_000 + b"]" * 100_000, "out/results.json nests JSON too deeply"),
    (b'"' + b"x" * 2**21 + b'"', "out/results.json is 2.0 MiB; at most 1 MiB is read"),
]


@pytest.mark.parametrize("content, message", BAD_JSON, ids=["python-dict", "empty", "not-utf8", "deep", "too-big"])
def test_bad_json_is_refused_with_a_clear_message(out, content, message):
    (out / "results.json").write_bytes(content)
    with pytest.raises(ObservationError) as raised:
        read_json(out, "results.json")
    assert message in str(raised.value)


def test_json_symlink_is_refused(out, tmp_path):
    (tmp_path / "elsewhere.json").write_text("{}")
    os.symlink(tmp_path / "elsewhere.json", out / "results.json")
    with pytest.raises(ObservationError, match="is a symbolic link"):
        read_json(out, "results.json")


def test_good_json_loads(out):
    value = {"accuracy": 0.91, "layers": ["conv2d_1", "dense"], "ok": True}
    (out / "results.json").write_text(json.dumps(value))
    assert read_json(out, "results.json") == value


@pytest.mark.parametrize("read, name", [(read_array, "probe_outputs.npy"), (read_json, "observations.json")])
def test_a_reader_told_what_the_file_is_names_it_in_words(out, read, name):
    os.symlink("/etc/shadow", out / name)
    with pytest.raises(ObservationError) as raised:
        read(out, name, what="your answer")
    assert str(raised.value) == "your answer is a symbolic link; the sandbox must write plain files."
