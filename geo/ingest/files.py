"""Reading and writing files: CSV tables and boundary layers with clear errors, atomic writes, checksums.

Every reader names the file in its messages; every writer writes to a temporary file in
the same folder and renames it into place, so a failed write never leaves half a file.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import geopandas as gpd
import pandas as pd

from geo.errors import CRSError, DataFileError, EmptyInputError, SchemaError
from geo.ingest.sources import resolve
from geo.settings import Settings, get_settings

__all__ = ["read_table"]


def settings_or_default(settings: Settings | None) -> Settings:
    return settings if settings is not None else get_settings()


def data_path(path: str | Path | None, key: str, settings: Settings | None) -> Path:
    if path is not None:
        p = Path(path)
        if not p.exists():
            raise DataFileError(f"{p}: file not found.")
        if p.is_dir():
            raise DataFileError(f"{p}: is a folder, expected a file.")
        return p
    return resolve(key, settings_or_default(settings).data_dir)


def read_table(path: Path, *, encoding: str = "utf-8-sig", skiprows: Sequence[int] | None = None) -> pd.DataFrame:
    """Read a CSV (optionally gzipped) or a Parquet file as strings, with clear errors.

    Parameters
    ----------
    path
        The file. ``.gz`` files are decompressed; ``.parquet`` files are read with pyarrow
        and every value turned into text as a CSV would hold it (missing values as ``""``).
    encoding
        Text encoding; the default strips a UTF-8 byte-order mark.
    skiprows
        Data rows to skip (e.g. a second header line).

    Raises
    ------
    DataFileError
        If the file is empty, binary, compressed wrongly, or not a CSV (or not a Parquet file).
    """
    path = Path(path)
    if path.stat().st_size == 0:
        raise DataFileError(f"{path}: the file is empty (0 bytes); expected a CSV with a header row.")
    if path.suffix.lower() == ".parquet":
        return _read_parquet_as_text(path, skiprows)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            head = fh.read(4096)
    except (OSError, EOFError) as exc:
        raise DataFileError(
            f"{path}: cannot be read as {'gzip' if opener is gzip.open else 'a file'} ({exc})."
        ) from None
    if b"\x00" in head:
        raise DataFileError(f"{path}: is a binary file, not a CSV (found NUL bytes). Expected comma-separated text.")
    if head.lstrip()[:1] in (b"{", b"[", b"<"):
        raise DataFileError(
            f"{path}: looks like JSON or HTML/XML, not a CSV. Expected comma-separated text with a header row."
        )
    try:
        df = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_values=[],
            encoding=encoding,
            skiprows=skiprows,
            compression="gzip" if path.suffix == ".gz" else None,
        )
    except pd.errors.EmptyDataError:
        raise DataFileError(f"{path}: the file has no header row or no columns.") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: is not a readable CSV ({str(exc).splitlines()[0]}).") from None
    if df.shape[1] < 2:
        raise DataFileError(
            f"{path}: has {df.shape[1]} column(s) ({', '.join(map(str, df.columns))}); "
            "expected a comma-separated file with several columns."
        )
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _read_parquet_as_text(path: Path, skiprows: Sequence[int] | None) -> pd.DataFrame:
    """A Parquet table with every column as text, as :func:`read_table` gives a CSV."""
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow's ArrowInvalid and friends
        raise DataFileError(f"{path}: cannot be read as Parquet ({str(exc).splitlines()[0]}).") from None
    out = pd.DataFrame(
        {str(c).strip(): [_text(v) for v in df[c].tolist()] for c in df.columns}, index=range(len(df)), dtype=object
    )
    if skiprows:  # as in pandas.read_csv: line numbers, 0 the header, 1 the first data row
        out = out.drop(index=[i - 1 for i in skiprows if 1 <= i <= len(out)]).reset_index(drop=True)
    return out


def _text(value: object) -> str:
    """A value as a CSV writer would write it; missing values (None, NaN, NA) as ``""``."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def require_columns(df: pd.DataFrame, required: Sequence[str], path: Path, what: str) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{path}: {what} is missing column(s) {', '.join(missing)}. "
            f"Found: {', '.join(map(str, df.columns))}. Required: {', '.join(required)}."
        )


def read_layer(path: Path, what: str) -> gpd.GeoDataFrame:
    if path.stat().st_size == 0:
        raise DataFileError(f"{path}: the file is empty (0 bytes); expected a {what} layer (GeoJSON or shapefile).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises its own DataSourceError and friends
        raise DataFileError(f"{path}: cannot be read as a {what} layer ({str(exc).splitlines()[0]}).") from None
    if len(gdf) == 0:
        raise EmptyInputError(f"{path}: the {what} layer has no features.")
    if gdf.crs is None:
        raise CRSError(
            f"{path}: the {what} layer has no CRS. Set one (e.g. EPSG:4326 for longitude/latitude, "
            "EPSG:2264 for NC State Plane feet) in the file (.prj for shapefiles) and try again."
        )
    return gdf


@contextmanager
def atomic_path(dest: Path, *, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; move it to ``dest`` only if the block succeeds.

    The one way files are written: a temporary file in the same folder, flushed to disk
    (``fsync``), then renamed over ``dest`` (and the folder synced), so ``dest`` is always
    either the old file or the complete new one. ``durable=False`` skips the two syncs (for
    staging files that only need to survive a killed process, not a power cut).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if durable:
            _fsync(tmp)
        os.replace(tmp, dest)
        if durable:
            _fsync_dir(dest.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some file systems do not open folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def gzip_text(path: Path) -> Iterator[IO[str]]:
    """Open ``path`` for writing gzipped UTF-8 text, reproducibly (no name, time 0 in the header)."""
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        text = io.TextIOWrapper(gz, encoding="utf-8", newline="")
        try:
            yield text
        finally:
            text.flush()
            text.detach()


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
