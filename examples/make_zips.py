"""Writes the zipped example submissions from examples/zip_sources; run it after editing a source and commit both."""

import stat
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "zip_sources"
SUBMISSIONS = HERE / "submissions"
# A fixed timestamp, so that running the script again writes byte-identical zips.
DATE = (2025, 3, 14, 21, 30, 0)
# What macOS's "Compress" adds next to every file; the grader must skip it.
MACOS_JUNK = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(16)


def entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=DATE)
    info.create_system = 3  # Unix, so external_attr carries the file mode
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def write_zip(source: Path, target: Path) -> None:
    """Zips the folders under `source` as macOS does: a top-level folder, plus __MACOSX/ resource forks."""
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(source.rglob("*")):
            name = path.relative_to(source).as_posix()
            if path.is_dir():
                archive.writestr(entry(name + "/", stat.S_IFDIR | 0o755), b"")
                continue
            archive.writestr(entry(name, stat.S_IFREG | 0o644), path.read_bytes(), compresslevel=9)
            fork = f"__MACOSX/{path.parent.relative_to(source).as_posix()}/._{path.name}"
            archive.writestr(entry(fork, stat.S_IFREG | 0o644), MACOS_JUNK, compresslevel=9)


def main() -> None:
    for source in sorted(SOURCES.glob("*/*")):
        target = SUBMISSIONS / source.parent.name / f"{source.name}.zip"
        write_zip(source, target)
        print(f"wrote {target.relative_to(HERE)}")


if __name__ == "__main__":
    main()
