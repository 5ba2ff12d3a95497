"""Folders as plain bytes, to travel through Ray's object store: files, folders and links, never followed."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal


@dataclass(frozen=True)
class Entry:
    """One thing in a folder."""

    path: str
    """Relative to the folder, "/"-separated, without "." or ".." parts."""
    kind: Literal["dir", "file", "link"]
    data: bytes = b""
    """A file's content, or a link's target (kept as written, never resolved)."""


@dataclass
class Tree:
    """A folder's regular files, folders and symbolic links, parents before children."""

    entries: list[Entry] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    """What was left out, in words: sockets, devices and fifos, what did not fit the limits, what
    could not be read (a path too long)."""

    @property
    def size_bytes(self) -> int:
        return sum(len(entry.data) for entry in self.entries)


def pack(folder: Path, *, max_bytes: int, max_entries: int) -> Tree:
    """Reads `folder` into a Tree without following any link; beyond `max_bytes` of content or
    `max_entries` entries the rest is dropped (and listed), so a full /out cannot grow without bound.

    Iterative, since a sandbox can nest folders thousands deep in /out.
    """
    tree, size = Tree(), 0
    pending = [PurePosixPath()]
    while pending:
        relative = pending.pop()
        try:
            with os.scandir(folder / relative) as listing:
                children = sorted(listing, key=lambda entry: entry.name)
        except OSError as error:
            tree.dropped.append(f"{relative or '.'}/: not readable ({error.strerror})")
            continue
        for child in children:
            path = relative / child.name
            if len(tree.entries) >= max_entries:
                tree.dropped.append(f"{path}: more than {max_entries} entries")
                continue
            try:
                info = child.stat(follow_symlinks=False)
                if stat.S_ISLNK(info.st_mode):
                    tree.entries.append(Entry(str(path), "link", os.fsencode(os.readlink(child.path))))
                elif stat.S_ISDIR(info.st_mode):
                    tree.entries.append(Entry(str(path), "dir"))
                    pending.append(path)
                elif stat.S_ISREG(info.st_mode):
                    if size + info.st_size > max_bytes:
                        tree.dropped.append(f"{path}: past the limit of {max_bytes} bytes")
                        continue
                    # O_NOFOLLOW: the sandbox may still be replacing files (it should be gone by now).
                    descriptor = os.open(child.path, os.O_RDONLY | os.O_NOFOLLOW)
                    with os.fdopen(descriptor, "rb") as handle:
                        data = handle.read(min(max_bytes - size, info.st_size) + 1)  # a file still growing
                    if size + len(data) > max_bytes:
                        tree.dropped.append(f"{path}: past the limit of {max_bytes} bytes")
                        continue
                    size += len(data)
                    tree.entries.append(Entry(str(path), "file", data))
                else:
                    tree.dropped.append(f"{path}: not a file, folder or link")
            except OSError as error:
                tree.dropped.append(f"{path}: not readable ({error.strerror})")
    return tree


def unpack(tree: Tree, folder: Path) -> None:
    """Writes the entries into the existing folder `folder`, each under a folder this call made:
    a link in the tree can never redirect a later entry out of `folder`. Raises ValueError for a
    path that is absolute, has "." or ".." parts, or whose parent is not a folder of the tree."""
    made = {PurePosixPath()}
    for entry in tree.entries:
        path = PurePosixPath(entry.path)
        if path.is_absolute() or not path.parts or any(part in ("", ".", "..") for part in path.parts) \
                or entry.path != str(path):
            raise ValueError(f"Expected a relative path without '.' or '..' in a packed folder. Received {entry.path!r}.")
        if path.parent not in made:
            raise ValueError(f"Expected {entry.path!r} to be inside a folder listed before it in the packed folder.")
        target = folder / path
        if entry.kind == "dir":
            target.mkdir()
            made.add(path)
        elif entry.kind == "link":
            os.symlink(os.fsdecode(entry.data), target)
        elif entry.kind != "file":
            raise ValueError(f"Expected a dir, file or link in a packed folder. Received {entry.kind!r} for {entry.path!r}.")
        else:
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(entry.data)
