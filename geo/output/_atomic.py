"""All-or-nothing output: a failed export leaves the previous files as they were.

An export is several files (the layer, its dictionary, its metadata, perhaps a geometry
file): they are written into a hidden folder in the target's own folder (so the final move
is a rename on the same file system), each flushed to disk, then renamed over the targets
and the folder synced. If anything fails before the renames (disk full, a file-size limit,
a driver error), the staging folder is removed and a :class:`~geo.errors.DataFileError`
says what failed and that nothing was replaced (exit code 2 on the command line).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from geo.errors import DataFileError
from geo.ingest.files import fsync, fsync_dir

__all__ = ["staged", "publish"]


@contextlib.contextmanager
def staged(target: Path) -> Iterator[Path]:
    """Yield the path to write ``target`` (and its sidecars) at, inside a staging folder.

    Call :func:`publish` with the staged files inside the block to move them into place;
    on an error the staging folder is removed and nothing is replaced.
    """
    target = Path(target)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        yield stage / target.name
    except OSError as exc:
        raise DataFileError(
            f"{target}: could not be written ({exc.strerror or type(exc).__name__}: {exc}); "
            f"nothing was replaced, so any previous {target.name} and its sidecar files are intact."
        ) from None
    except Exception as exc:
        if type(exc).__module__.startswith("pyogrio"):  # the GDAL driver's own errors (e.g. disk full)
            raise DataFileError(
                f"{target}: could not be written ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
                f"nothing was replaced, so any previous {target.name} is intact."
            ) from None
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def publish(files: list[Path], target_dir: Path) -> list[Path]:
    """Flush each staged file to disk, then rename it into ``target_dir``; return the final paths."""
    for f in files:
        fsync(f)
    out = []
    for f in files:
        dest = Path(target_dir) / f.name
        os.replace(f, dest)
        out.append(dest)
    fsync_dir(Path(target_dir))
    return out
