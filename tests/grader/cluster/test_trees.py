"""Folders packed as bytes for Ray's object store: what is kept, what is dropped, what unpack refuses."""

import os
from pathlib import Path

import pytest

from grader.cluster.trees import Entry, Tree, pack, unpack


def test_files_folders_and_links_round_trip_and_links_are_never_followed(tmp_path):
    source, copy = tmp_path / "source", tmp_path / "copy"
    (source / "maps" / "deep").mkdir(parents=True)
    (source / "observations.json").write_text('{"ok": true}')
    (source / "maps" / "deep" / "w.npy").write_bytes(b"\x93NUMPY" + bytes(range(256)))
    os.symlink("/etc/passwd", source / "secret")
    os.mkfifo(source / "pipe")
    copy.mkdir()

    tree = pack(source, max_bytes=2**20, max_entries=100)
    unpack(tree, copy)

    assert (copy / "observations.json").read_text() == '{"ok": true}'
    assert (copy / "maps" / "deep" / "w.npy").read_bytes() == (source / "maps" / "deep" / "w.npy").read_bytes()
    assert os.readlink(copy / "secret") == "/etc/passwd"
    assert next(e for e in tree.entries if e.path == "secret").data == b"/etc/passwd"  # the target, not the file
    assert not (copy / "pipe").exists()
    assert tree.dropped == ["pipe: not a file, folder or link"]


@pytest.mark.parametrize("max_bytes, max_entries, kept, dropped", [
    (10, 100, {"a"}, "b: past the limit of 10 bytes"),
    (2**20, 1, {"a"}, "b: more than 1 entries"),
])
def test_what_is_past_the_limits_is_dropped_and_said(tmp_path, max_bytes, max_entries, kept, dropped):
    (tmp_path / "a").write_bytes(b"x" * 6)
    (tmp_path / "b").write_bytes(b"y" * 6)
    tree = pack(tmp_path, max_bytes=max_bytes, max_entries=max_entries)
    assert {entry.path for entry in tree.entries} == kept
    assert tree.dropped == [dropped]


@pytest.mark.parametrize("entries, message", [
    ([Entry("../escape", "file", b"x")], "without '.' or '..'"),
    ([Entry("/etc/cron.d/x", "file", b"x")], "without '.' or '..'"),
    ([Entry("a/./b", "file", b"x")], "without '.' or '..'"),
    # A link first, then a file "through" it: written there, it would land outside the folder.
    ([Entry("out", "link", b"/tmp"), Entry("out/planted", "file", b"x")], "inside a folder listed before it"),
    ([Entry("missing/parent", "file", b"x")], "inside a folder listed before it"),
])
def test_unpack_refuses_paths_that_leave_the_folder(tmp_path, entries, message):
    target = tmp_path / "target"
    target.mkdir()
    with pytest.raises(ValueError, match=message):
        unpack(Tree(entries), target)
    assert not Path("/tmp/planted").exists()
