"""The matplotlib font list built once for the sandboxes, and the driver's use of it."""

import dataclasses
import json
import os
import tempfile

import pytest

from grader.config import Config
from grader.fontcache import font_list
from grader.grading import PROBE_DIR
from grader.probe import driver

pytest.importorskip("matplotlib")


def test_the_font_list_is_built_once_with_the_sandbox_interpreter(tmp_path):
    config = Config(cache_dir=tmp_path)
    built = font_list(config, PROBE_DIR / "fonts.conf")
    assert built is not None and built.parent == tmp_path / "matplotlib-fonts", built
    assert "ttflist" in json.loads(built.read_text())
    assert [p.name for p in built.parent.iterdir()] == [built.name]  # the private build folder is gone
    # Another worker on the machine finds it instead of building it.
    font_list.cache_clear()
    assert font_list(config, PROBE_DIR / "fonts.conf") == built


def test_without_matplotlib_there_is_no_font_list_and_no_error(tmp_path):
    config = dataclasses.replace(Config(cache_dir=tmp_path), sandbox_python=str(tmp_path / "no-python"))
    assert font_list(config, PROBE_DIR / "fonts.conf") is None


def test_the_driver_points_matplotlib_at_a_writable_copy(tmp_path, monkeypatch):
    monkeypatch.delenv("MPLCONFIGDIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the sandbox's TMPDIR
    folder = tmp_path / "probe-matplotlib"
    folder.mkdir()
    (folder / "fontlist-v3.11.0.json").write_text("{}")
    driver.use_font_list(folder)
    copy = os.environ["MPLCONFIGDIR"]
    assert copy.startswith(str(tmp_path)) and os.listdir(copy) == ["fontlist-v3.11.0.json"]
    assert os.access(copy, os.W_OK)
