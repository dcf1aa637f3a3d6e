"""Reading and writing files: CSV tables and boundary layers with clear errors, atomic writes, checksums.

Every reader names the file in its messages; every writer writes to a temporary file in
the same folder and renames it into place, so a failed write never leaves half a file.

Readers refuse, with a message naming the file and the fix, what would otherwise give a
traceback or a wrong answer: a path that is not a regular file (a named pipe, a symbolic
link loop), a compressed file that is truncated or damaged, a file that expands beyond
``Settings.max_decompressed_bytes`` or holds more than ``Settings.max_rows`` rows, text that
is not UTF-8 (UTF-16 with a byte-order mark is read as such), and repeated column names.

A ``.gz`` file is decompressed once in 1 MiB blocks, counting bytes and keeping only the
first 64 KiB, before pandas reads it: a "gzip bomb" is refused when the count passes the
limit, having held one block at a time. On the real stops file (1.3 MB gzip, 22 MB of text)
that pass costs about 0.1 s of the loader's 1 s read; an uncompressed file needs no pass
(its size on disk is its size).

A CSV with no quote character in it (the pass above notes one; a plain file is scanned for one)
is parsed by pyarrow's multi-threaded reader, which splits such a file exactly as pandas does
and is several times faster on a million rows; a file with quotes, a blank or repeated header
cell, a short or long row, or anything pyarrow refuses is read by ``pandas.read_csv`` as before,
which gives the answer or the error message.
"""

from __future__ import annotations

import codecs
import csv
import errno
import gzip
import hashlib
import io
import os
import stat
import tempfile
import warnings
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

from geo.errors import CRSError, DataFileError, EmptyInputError, SchemaError
from geo.ingest.sources import resolve
from geo.settings import Settings, get_settings

if TYPE_CHECKING:  # pandas and geopandas are imported where they are used: `geo fetch` copies files without them
    import geopandas as gpd
    import pandas as pd

__all__ = ["read_table", "check_file", "check_parquet_size", "fsync", "fsync_dir"]

#: Decompression block and how much of the start of a file is kept to sniff its kind.
_BLOCK = 1 << 20
_HEAD = 1 << 16
#: A gzip file that expands to at most this is kept in memory by the counting pass and parsed from
#: there (one decompression, not two); a larger one is let go as it passes this size and decompressed
#: again by pandas, so a "gzip bomb" never holds more than this plus one block.
_KEEP = 32 << 20

#: The CSV quote character: a file without one is read by pyarrow's parser (see :func:`_read_unquoted`).
_QUOTE = b'"'
#: Encodings :func:`_read_unquoted` reads (pyarrow reads UTF-8 only, skipping a byte-order mark).
_UTF8 = ("utf-8", "utf-8-sig", "utf8", "utf_8", "utf_8_sig")

#: Byte-order marks of UTF-32 and UTF-16 text, longest first (a UTF-32-LE mark starts like UTF-16-LE's).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

#: What a path that is not a regular file or a folder is, for messages.
_NOT_REGULAR = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def settings_or_default(settings: Settings | None) -> Settings:
    return settings if settings is not None else get_settings()


def check_file(path: Path) -> os.stat_result:
    """Check that ``path`` is a regular file that can be opened; return its ``os.stat`` result.

    Raises
    ------
    DataFileError
        If the file is missing (also: a symbolic link to a missing file), is a symbolic
        link loop, a folder, or not a regular file (a named pipe, socket or device): each
        said as such, never as "empty" or "not found".
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DataFileError(
                f"{path}: cannot be opened: it is a symbolic link loop (links that point back at each other); "
                "point the link at the real file."
            ) from None
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            target = f" (a symbolic link to {os.readlink(path)}, which does not exist)" if os.path.islink(path) else ""
            raise DataFileError(f"{path}: file not found{target}.") from None
        raise DataFileError(f"{path}: cannot be opened ({exc.strerror}).") from None
    if stat.S_ISDIR(st.st_mode):
        raise DataFileError(f"{path}: is a folder, expected a file.")
    if not stat.S_ISREG(st.st_mode):
        kind = next((name for test, name in _NOT_REGULAR if test(st.st_mode)), "a special file")
        raise DataFileError(
            f"{path}: not a regular file ({kind}); save the data to an ordinary file and give that file's path."
        )
    return st


def data_path(path: str | Path | None, key: str, settings: Settings | None) -> Path:
    if path is not None:
        p = Path(path)
        check_file(p)
        return p
    return resolve(key, settings_or_default(settings).data_dir)


def _too_large(path: Path, cap: int, what: str) -> DataFileError:
    return DataFileError(
        f"{path}: {what} more than {human_size(cap)} ({cap:,} bytes), the limit for one file "
        f"(setting max_decompressed_bytes, environment variable CMPD_MAX_DECOMPRESSED_BYTES). "
        "Check that this is the right file, or raise the limit."
    )


def _too_many_rows(path: Path, cap: int) -> DataFileError:
    return DataFileError(
        f"{path}: has more than {cap:,} data rows, the limit for one file (setting max_rows, environment "
        "variable CMPD_MAX_ROWS). Check that this is the right file, split it, or raise the limit."
    )


def _damaged(path: Path, exc: Exception) -> DataFileError:
    return DataFileError(f"{path}: the gzip data is damaged ({exc}); download or copy the file again.")


def _scan_gzip(path: Path, cap: int) -> tuple[bytes, bytes | None, bool]:
    """Decompress ``path`` once in blocks, counting bytes: first bytes, all if at most ``_KEEP``, any quote.

    Returns the first bytes, all of them when at most ``_KEEP`` (else ``None``), and whether the
    text holds a quote character.

    Raises
    ------
    DataFileError
        If the file is not gzip, is truncated or damaged, or expands beyond ``cap`` bytes
        (found holding at most ``_KEEP`` bytes and one block).
    """
    head = b""
    kept: list[bytes] | None = []
    total = 0
    quoted = False
    try:
        with gzip.open(path, "rb") as fh:
            while block := fh.read(_BLOCK):
                total += len(block)
                if total > cap:
                    raise _too_large(path, cap, "expands, when decompressed, to")
                quoted = quoted or _QUOTE in block
                if len(head) < _HEAD:
                    head += block[: _HEAD - len(head)]
                if kept is not None and total <= _KEEP:
                    kept.append(block)
                else:
                    kept = None
    except EOFError:
        raise DataFileError(
            f"{path}: the gzip file is truncated (it ends before its end marker): download or copy it again."
        ) from None
    except gzip.BadGzipFile as exc:
        if str(exc).startswith("Not a gzipped file"):
            raise DataFileError(
                f"{path}: cannot be read as gzip: it is not a gzip file ({exc}); a .gz file must be gzip-compressed: "
                "give the uncompressed file a .csv name, or compress it with gzip."
            ) from None
        raise _damaged(path, exc) from None
    except (OSError, zlib.error) as exc:
        raise _damaged(path, exc) from None
    return head, None if kept is None else b"".join(kept), quoted


def _head(path: Path, *, gz: bool, size: int, cap: int) -> tuple[bytes, bytes | None, bool]:
    """The first bytes of the (decompressed) file after checking its size against ``cap``.

    Also a small gzip's whole text (else ``None``) and whether the text holds a quote character.
    """
    if gz:
        return _scan_gzip(path, cap)
    if size > cap:
        raise _too_large(path, cap, "is")
    with open(path, "rb") as fh:
        head = fh.read(_HEAD)
        quoted = _QUOTE in head
        while not quoted and (block := fh.read(_BLOCK)):
            quoted = _QUOTE in block
        return head, None, quoted


@contextmanager
def _binary(path: Path, data: bytes | None, *, gz: bool) -> Iterator[IO[bytes]]:
    """The file's (decompressed) bytes as a stream: from ``data`` when the counting pass kept them."""
    if data is not None:
        yield io.BytesIO(data)
        return
    with gzip.open(path, "rb") if gz else open(path, "rb") as fh:
        yield cast(IO[bytes], fh)


def _sniff(head: bytes, path: Path, encoding: str) -> str:
    """The encoding to read with (UTF-16/32 when the text starts with their mark); refuse binary, JSON, HTML."""
    encoding = next((name for bom, name in _BOMS if head.startswith(bom)), encoding)
    if encoding in ("utf-16", "utf-32"):
        text = head.decode(encoding, errors="ignore")
    elif b"\x00" in head:
        if len(head) >= 4 and (head[1::2].count(0) > len(head) // 4 or head[0::2].count(0) > len(head) // 4):
            raise DataFileError(
                f"{path}: looks like UTF-16 text without a byte-order mark; save it as UTF-8 (in Excel: CSV UTF-8)."
            )
        raise DataFileError(f"{path}: is a binary file, not a CSV (found NUL bytes). Expected comma-separated text.")
    else:
        text = head.decode("utf-8", errors="ignore")
    if text.lstrip("\ufeff").lstrip()[:1] in ("{", "[", "<"):
        raise DataFileError(
            f"{path}: looks like JSON or HTML/XML, not a CSV. Expected comma-separated text with a header row."
        )
    return encoding


def _clean_name(name: object) -> str:
    """A column name without byte-order marks and surrounding spaces."""
    return str(name).replace("\ufeff", "").strip()


def _refuse_repeated(names: Sequence[object], path: Path) -> None:
    """Raise :class:`SchemaError` if two columns have the same (cleaned) name, naming them and their positions."""
    where: dict[str, list[int]] = {}
    for i, name in enumerate(names, start=1):
        if clean := _clean_name(name):
            where.setdefault(clean, []).append(i)
    repeated = [(name, pos) for name, pos in where.items() if len(pos) > 1]
    if repeated:
        parts = [
            f"columns {', '.join(map(str, pos[:-1]))} and {pos[-1]} are {'both' if len(pos) == 2 else 'all'} named {name}"
            for name, pos in repeated
        ]
        raise SchemaError(
            f"{path}: {'; '.join(parts)} (after removing spaces and byte-order marks); rename or remove one, "
            "so that each column has its own name."
        )


def _header(path: Path, data: bytes | None, *, gz: bool, encoding: str) -> list[str]:
    """The header row's names as written (quoting handled); reads only the start of the file."""
    with _binary(path, data, gz=gz) as raw:
        try:
            return next(csv.reader(io.TextIOWrapper(raw, encoding=encoding, newline="")), [])
        except csv.Error as exc:
            raise DataFileError(f"{path}: the header row is not readable CSV ({exc}).") from None


def _not_text(path: Path, data: bytes | None, *, gz: bool, encoding: str) -> DataFileError:
    """The error for a file that does not decode: for UTF-8, the first line and byte that are not UTF-8."""
    if encoding.replace("_", "-").lower() not in ("utf-8", "utf-8-sig", "utf8"):
        return DataFileError(f"{path}: is not valid {encoding} text; save it as UTF-8 (in Excel: CSV UTF-8).")
    with _binary(path, data, gz=gz) as fh:
        for number, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                column = len(line[: exc.start].decode("utf-8", errors="replace")) + 1
                return DataFileError(
                    f"{path}: line {number}, character {column}: the byte 0x{line[exc.start]:02X} is not UTF-8 text "
                    "(the file was probably saved as Latin-1 or Windows-1252). Open it and save it as UTF-8 "
                    "(in Excel: CSV UTF-8), then try again."
                )
    return DataFileError(f"{path}: is not UTF-8 text; save it as UTF-8 (in Excel: CSV UTF-8).")


def read_table(
    path: Path,
    *,
    encoding: str = "utf-8-sig",
    skiprows: Sequence[int] | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Read a CSV (optionally gzipped) or a Parquet file as strings, with clear errors.

    Parameters
    ----------
    path
        The file. ``.gz`` files are decompressed; ``.parquet`` files are read with pyarrow
        and every value turned into text as a CSV would hold it (missing values as ``""``).
    encoding
        Text encoding; the default strips a UTF-8 byte-order mark. Text that starts with a
        UTF-16 or UTF-32 byte-order mark is read in that encoding.
    skiprows
        Data rows to skip (e.g. a second header line).
    settings
        Settings (``max_decompressed_bytes``, ``max_rows``); by default from the environment.

    Returns
    -------
    pandas.DataFrame
        Every value as text; column names without surrounding spaces and byte-order marks.

    Raises
    ------
    DataFileError
        If the file is not a regular file, is empty, binary, compressed wrongly, truncated,
        larger than the limits, not UTF-8 (the line and byte are named), or not a CSV
        (or not a Parquet file).
    SchemaError
        If two columns have the same name (their positions are named).
    """
    import pandas as pd

    path = Path(path)
    s = settings_or_default(settings)
    size = check_file(path).st_size
    if size == 0:
        raise DataFileError(f"{path}: the file is empty (0 bytes); expected a CSV with a header row.")
    if path.suffix.lower() == ".parquet":
        return _read_parquet_as_text(path, skiprows, s)
    gz = path.suffix.lower() == ".gz"
    head, data, quoted = _head(path, gz=gz, size=size, cap=s.max_decompressed_bytes)
    encoding = _sniff(head, path, encoding)
    try:
        header = _header(path, data, gz=gz, encoding=encoding)
        _refuse_repeated(header, path)
        fast = None
        if not quoted and skiprows is None and encoding.lower() in _UTF8:
            fast = _read_unquoted(path, data, gz=gz, header=header)
        df = (
            fast
            if fast is not None
            else pd.read_csv(
                path if data is None else io.BytesIO(data),
                dtype=str,
                keep_default_na=False,
                na_values=[],
                encoding=encoding,
                skiprows=skiprows,
                nrows=s.max_rows + 1,
                compression="gzip" if gz and data is None else None,
            )
        )
    except UnicodeError:
        raise _not_text(path, data, gz=gz, encoding=encoding) from None
    except pd.errors.EmptyDataError:
        raise DataFileError(f"{path}: the file has no header row or no columns.") from None
    except pd.errors.ParserError as exc:
        raise DataFileError(f"{path}: is not a readable CSV ({str(exc).splitlines()[0]}).") from None
    except (EOFError, OSError, zlib.error) as exc:  # changed since it was checked
        raise DataFileError(f"{path}: cannot be read ({type(exc).__name__}: {exc}).") from None
    if len(df) > s.max_rows:
        raise _too_many_rows(path, s.max_rows)
    if df.shape[1] < 2:
        raise DataFileError(
            f"{path}: has {df.shape[1]} column(s) ({', '.join(map(str, df.columns))}); "
            "expected a comma-separated file with several columns."
        )
    df.columns = [_clean_name(c) for c in df.columns]
    return df


def _read_unquoted(path: Path, data: bytes | None, *, gz: bool, header: list[str]) -> pd.DataFrame | None:
    """A CSV without quote characters read by pyarrow's multi-threaded parser, as ``pandas.read_csv`` would read it.

    Every value is text (blank values ``""``), exactly as :func:`read_table`'s ``pandas.read_csv`` call
    gives it: without quotes a CSV is its commas and line breaks, which both parsers split alike
    (blank lines skipped). Anything else, ``None`` and :func:`read_table` reads the file with pandas
    (which then gives its answer or its error): header cells blank or repeated (pandas renames them),
    rows with too few or too many values, text that is not UTF-8, or any other pyarrow error.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [header[0].lstrip("\ufeff"), *header[1:]] if header else []
    if not names or not all(names) or len(set(names)) != len(names):
        return None
    options = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names}, strings_can_be_null=False, quoted_strings_can_be_null=False
    )
    try:
        with _binary(path, data, gz=gz) as raw:
            table = pacsv.read_csv(
                raw,
                read_options=pacsv.ReadOptions(block_size=4 << 20),
                parse_options=pacsv.ParseOptions(newlines_in_values=False),
                convert_options=options,
            )
    except Exception:  # pyarrow's ArrowInvalid and friends: pandas gives the answer or the message
        return None
    if table.column_names != names or not all(pa.types.is_string(t) for t in table.schema.types):
        return None
    df = table.to_pandas()
    df.columns = header  # as pandas names them (a byte-order mark pandas kept is cleaned by the caller)
    return df


def check_parquet_size(path: Path, settings: Settings) -> None:
    """Refuse a Parquet file whose rows or uncompressed size (from its footer) pass the limits.

    Raises
    ------
    DataFileError
        If the footer cannot be read, or the file holds more than ``settings.max_rows``
        rows or more than ``settings.max_decompressed_bytes`` bytes of uncompressed data.
    """
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
    except Exception as exc:  # pyarrow's ArrowInvalid and friends
        raise DataFileError(f"{path}: cannot be read as Parquet ({str(exc).splitlines()[0]}).") from None
    if meta.num_rows > settings.max_rows:
        raise _too_many_rows(path, settings.max_rows)
    expanded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if expanded > settings.max_decompressed_bytes:
        raise _too_large(path, settings.max_decompressed_bytes, "holds, uncompressed,")


def _read_parquet_as_text(path: Path, skiprows: Sequence[int] | None, settings: Settings) -> pd.DataFrame:
    """A Parquet table with every column as text, as :func:`read_table` gives a CSV."""
    import pandas as pd

    check_parquet_size(path, settings)
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow's ArrowInvalid and friends
        raise DataFileError(f"{path}: cannot be read as Parquet ({str(exc).splitlines()[0]}).") from None
    _refuse_repeated(list(df.columns), path)
    out = pd.DataFrame(
        {_clean_name(c): [_text(v) for v in df[c].tolist()] for c in df.columns}, index=range(len(df)), dtype=object
    )
    if skiprows:  # as in pandas.read_csv: line numbers, 0 the header, 1 the first data row
        out = out.drop(index=[i - 1 for i in skiprows if 1 <= i <= len(out)]).reset_index(drop=True)
    return out


def _text(value: object) -> str:
    """A value as a CSV writer would write it; missing values (None, NaN, NA) as ``""``."""
    import pandas as pd

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


def read_layer(path: Path, what: str, *, settings: Settings | None = None) -> gpd.GeoDataFrame:
    """Read a boundary or polygon layer (GeoJSON, shapefile, GeoPackage) with clear errors.

    Parameters
    ----------
    path
        The file.
    what
        What the layer is, for messages (e.g. ``"division boundary"``).
    settings
        Settings (``max_decompressed_bytes`` for the file's size, ``max_rows`` for its
        features); by default from the environment.

    Raises
    ------
    DataFileError, EmptyInputError, CRSError
        Not a regular file, empty, too large, unreadable, no features, or no CRS.
    """
    import geopandas as gpd

    s = settings_or_default(settings)
    size = check_file(path).st_size
    if size == 0:
        raise DataFileError(f"{path}: the file is empty (0 bytes); expected a {what} layer (GeoJSON or shapefile).")
    if size > s.max_decompressed_bytes:
        raise _too_large(path, s.max_decompressed_bytes, "is")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            gdf = gpd.read_file(path, rows=s.max_rows + 1)
    except Exception as exc:  # pyogrio raises its own DataSourceError and friends
        raise DataFileError(f"{path}: cannot be read as a {what} layer ({str(exc).splitlines()[0]}).") from None
    if len(gdf) > s.max_rows:
        raise _too_many_rows(path, s.max_rows)
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
            fsync(tmp)
        os.replace(tmp, dest)
        if durable:
            fsync_dir(dest.parent)
    finally:
        tmp.unlink(missing_ok=True)


def fsync(path: Path) -> None:
    """Flush a file's bytes to disk (before it is renamed into place)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries to disk (after a rename); quietly nothing where folders cannot be synced."""
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
