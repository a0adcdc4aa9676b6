"""Collecting static files: every installed app's ``static/`` into one folder, with
content-hashed names, gzip variants and a manifest (what ``tidal collectstatic`` runs).

For each file (first app wins, as when serving): the file under its own name, a copy
named with a hash of its content (``css/site.css`` -> ``css/site.5f1e0c2a9b3d.css``), and
for text formats a ``.gz`` of each when that is smaller. Stylesheets are rewritten first so
their ``url(...)`` and ``@import`` references point at the hashed names too; a changed image
thus changes the name of the stylesheet that uses it. Files are written atomically and old
hashed files are kept (pages cached before a deploy still find theirs) unless ``clear``.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import posixpath
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import msgspec

from tidal.exceptions import ImproperlyConfigured
from tidal.templates.manifest import MANIFEST_NAME, Manifest

HASH_LENGTH = 12
COMPRESSIBLE = frozenset(
    {
        ".css",
        ".csv",
        ".htm",
        ".html",
        ".ico",
        ".js",
        ".json",
        ".map",
        ".md",
        ".mjs",
        ".svg",
        ".txt",
        ".wasm",
        ".webmanifest",
        ".xml",
    }
)
MIN_GZIP_SIZE = 256
_CSS_REFERENCE = re.compile(
    r"""(?P<url>url\(\s*(?P<q1>['"]?)(?P<target1>[^'")]+?)(?P=q1)\s*\))"""
    r"""|(?P<import>@import\s+(?P<q2>['"])(?P<target2>[^'"]+)(?P=q2))""",
    re.IGNORECASE,
)
_EXTERNAL = ("data:", "http:", "https:", "//", "#", "/", "about:", "mailto:")


@dataclasses.dataclass
class CollectResult:
    """What ``collect_static`` did."""

    root: Path
    paths: dict[str, str]
    gzipped: list[str]
    overridden: list[tuple[str, Path]]  # (path, the later app's file that was not used)

    @property
    def count(self) -> int:
        return len(self.paths)


def hashed_name(path: str, content: bytes) -> str:
    """``css/site.css`` -> ``css/site.<hash>.css`` for ``content``."""
    digest = hashlib.sha256(content).hexdigest()[:HASH_LENGTH]
    folder, name = posixpath.split(path)
    stem, dot, suffix = name.rpartition(".")
    hashed = f"{stem}.{digest}.{suffix}" if dot and stem else f"{name}.{digest}"
    return posixpath.join(folder, hashed) if folder else hashed


def find_files(directories: Sequence[Path]) -> tuple[dict[str, Path], list[tuple[str, Path]]]:
    """``{"css/site.css": source}`` over ``directories`` in order (first wins), skipping
    hidden files; and the later files that lost to an earlier one."""
    found: dict[str, Path] = {}
    overridden: list[tuple[str, Path]] = []
    for directory in directories:
        for folder, subfolders, files in os.walk(directory):
            subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
            for name in sorted(files):
                if name.startswith("."):
                    continue
                source = Path(folder) / name
                relative = source.relative_to(directory).as_posix()
                if relative in found:
                    overridden.append((relative, source))
                else:
                    found[relative] = source
    return found, overridden


class _Hasher:
    """Computes the final content and hashed name of each file, stylesheets after what
    they reference."""

    def __init__(self, sources: dict[str, Path]) -> None:
        self.sources = sources
        self.contents: dict[str, bytes] = {}
        self.names: dict[str, str] = {}
        self.visiting: set[str] = set()

    def name(self, path: str) -> str:
        if path not in self.names:
            content = self.sources[path].read_bytes()
            if path.lower().endswith(".css"):
                self.visiting.add(path)
                content = self.rewrite_css(path, content)
                self.visiting.discard(path)
            self.contents[path] = content
            self.names[path] = hashed_name(path, content)
        return self.names[path]

    def rewrite_css(self, path: str, content: bytes) -> bytes:
        try:
            text = content.decode()
        except UnicodeDecodeError:
            return content
        folder = posixpath.dirname(path)

        def replace(match: re.Match[str]) -> str:
            target = match.group("target1") or match.group("target2")
            if target.lower().startswith(_EXTERNAL):
                return match.group(0)
            cut = re.search(r"[?#]", target)
            clean, suffix = (target[: cut.start()], target[cut.start() :]) if cut else (target, "")
            resolved = posixpath.normpath(posixpath.join(folder, clean))
            if resolved not in self.sources or resolved in self.visiting:
                return match.group(0)
            new = posixpath.relpath(self.name(resolved), folder or ".")
            return match.group(0).replace(target, new + suffix, 1)

        return _CSS_REFERENCE.sub(replace, text).encode()


def _write_atomic(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tidal-")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _gzip(content: bytes) -> bytes:
    return gzip.compress(content, compresslevel=9, mtime=0)


def _check_root(root: Path, directories: Sequence[Path]) -> None:
    resolved = root.resolve()
    for directory in directories:
        source = directory.resolve()
        if resolved == source or resolved in source.parents or source in resolved.parents:
            raise ImproperlyConfigured(
                f"The static root {root} overlaps the app static folder {directory}; choose "
                "a folder of its own (like ./staticfiles) for TIDAL_STATIC_ROOT."
            )


def collect_static(
    directories: Sequence[Path],
    root: str | os.PathLike[str],
    *,
    compress: bool = True,
    clear: bool = False,
) -> CollectResult:
    """Copy the files of ``directories`` (in lookup order) into ``root`` as described in
    the module docstring, and write ``root/staticfiles.json``.

    Raises:
        ImproperlyConfigured: ``root`` overlaps one of the source folders.
    """
    target = Path(root)
    _check_root(target, directories)
    if clear and target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True, exist_ok=True)
    sources, overridden = find_files(directories)
    hasher = _Hasher(sources)
    paths: dict[str, str] = {}
    gzipped: list[str] = []
    for path in sources:
        paths[path] = hasher.name(path)
    for path, hashed in paths.items():
        content = hasher.contents[path]
        compressed = None
        if compress and len(content) >= MIN_GZIP_SIZE and Path(path).suffix.lower() in COMPRESSIBLE:
            compressed = _gzip(content)
            if len(compressed) >= len(content):
                compressed = None
        for name in (path, hashed):
            _write_atomic(target / name, content)
            if compressed is not None:
                _write_atomic(target / f"{name}.gz", compressed)
                gzipped.append(name)
    manifest = Manifest(paths=paths, gzip=sorted(gzipped))
    _write_atomic(target / MANIFEST_NAME, msgspec.json.format(msgspec.json.encode(manifest)))
    return CollectResult(target, paths, gzipped, overridden)


__all__ = ["CollectResult", "collect_static", "find_files", "hashed_name"]
