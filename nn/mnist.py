"""MNIST from the official IDX files (gzip-compressed or raw), SHA-256 verified.

Where the files are looked for, in order:

1. the ``directory`` argument;
2. the environment variable ``BACKPROPLAB_MNIST``;
3. the cache directory ``~/.cache/backproplab/mnist`` (``$XDG_CACHE_HOME`` respected),
   which ``download=True`` fills from the first working mirror in :data:`MIRRORS`.

File names accepted: the official ``train-images-idx3-ubyte`` and the dotted variant
``train-images.idx3-ubyte``, each optionally with ``.gz``. The SHA-256 of the
UNCOMPRESSED bytes must equal :data:`OFFICIAL_SHA256` (pass ``sums=`` to use other files,
e.g. a test fixture; ``sums=False`` skips the check).

IDX format: 2 zero bytes, a type byte (0x08 = uint8, …), a byte with the number of
dimensions d, then d big-endian uint32 sizes, then the data in row-major order.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import sys
import tempfile
import urllib.request
import zlib
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

import numpy as np

from autodiff import validate

__all__ = ["MAX_BYTES", "MAX_NDIM", "OFFICIAL_SHA256", "MIRRORS", "ENV_VAR", "ChecksumError", "read_idx", "parse_idx", "find_mnist_dir",
           "download_mnist", "load_mnist", "mnist_arrays", "default_cache_dir"]

ENV_VAR = "BACKPROPLAB_MNIST"
# SHA-256 of the uncompressed official files (LeCun, Cortes & Burges).
OFFICIAL_SHA256: dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://yann.lecun.com/exdb/mnist/",
)
_SPLITS = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
           "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

PathLike = Union[str, os.PathLike]


class ChecksumError(ValueError):
    """A file's SHA-256 is not the expected one (corrupted or not the official file)."""


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "backproplab" / "mnist"


# The most an IDX file may hold once inflated (the official training images hold 47 MB):
# a header asking for more is refused before a single byte is inflated (a "gzip bomb" of a
# few MB would otherwise inflate to gigabytes). Pass ``max_bytes`` to read larger files.
MAX_BYTES = 1 << 30
MAX_NDIM = 4  # MNIST's files have 1 (labels) or 3 (images) dimensions


def _header(head: bytes, where: str, ndim_bytes: Optional[bytes] = None) -> tuple[np.dtype, int]:
    """Check the 4 magic bytes: 0, 0, a known type byte, 1 ≤ ndim ≤ MAX_NDIM."""
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _DTYPES:
        raise ValueError(f"{where}: not an IDX file (bad magic number {head[:4].hex() or 'empty file'}; "
                         f"an IDX file starts with 00 00, a type byte in "
                         f"{', '.join(f'{k:02x}' for k in _DTYPES)} and the number of dimensions)")
    ndim = head[3]
    if not 1 <= ndim <= MAX_NDIM:
        raise ValueError(f"{where}: IDX header gives {ndim} dimensions; accepted are 1 to {MAX_NDIM} "
                         "(MNIST labels have 1, images 3)")
    return np.dtype(_DTYPES[head[2]]), ndim


def _size(shape: tuple[int, ...], dtype: np.dtype, where: str, max_bytes: int) -> int:
    """The data bytes the header announces (exact Python integers: no overflow), refused
    above ``max_bytes``."""
    count = 1
    for n in shape:
        count *= n
    nbytes = count * dtype.itemsize
    if nbytes > max_bytes:
        raise ValueError(f"{where}: IDX header says shape {shape} of {dtype.itemsize}-byte values = {nbytes:,} "
                         f"data bytes, more than max_bytes = {max_bytes:,}; refused before reading (pass a "
                         "larger max_bytes if the file really is that large)")
    return nbytes


def _max_bytes(max_bytes: int, where: str) -> int:
    return validate.int_at_least(max_bytes, f"{where}(max_bytes) (the most data bytes to read)", 0)


def parse_idx(data: bytes, where: str = "IDX data", max_bytes: int = MAX_BYTES) -> np.ndarray:
    """Parse the bytes of an (uncompressed) IDX file into a numpy array."""
    max_bytes = _max_bytes(max_bytes, "parse_idx")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"parse_idx(data): expected the bytes of an IDX file, got {type(data).__name__}")
    dtype, ndim = _header(data[:4], where)
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{where}: truncated IDX header ({len(data)} bytes, the {ndim} sizes need {header})")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = _size(shape, dtype, where, max_bytes)
    if len(data) - header != expected:
        raise ValueError(f"{where}: IDX header says shape {shape} ({expected:,} data bytes) but the file "
                         f"holds {len(data) - header:,}")
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


def _read_exactly(f, n: int, path: Path) -> bytes:
    try:
        return f.read(n)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: not a valid gzip file ({exc}); the file is corrupt or was "
                         "cut short: delete it and fetch it again") from None


def read_idx(path: PathLike, sha256: Optional[str] = None, *, max_bytes: int = MAX_BYTES) -> np.ndarray:
    """Read an IDX file (gzip or raw), streaming: the header is read and checked (magic, number
    of dimensions, announced size ≤ ``max_bytes``) before any data is inflated, then exactly
    the announced bytes are read. With ``sha256``, the uncompressed bytes are checked.
    Every malformed file is a ``ValueError`` naming it."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"read_idx(path): expected a file path (str or pathlib.Path), got {type(path).__name__}: "
                        f"{path!r}"[:200])
    max_bytes = _max_bytes(max_bytes, "read_idx")
    if sha256 is not None:
        if not isinstance(sha256, str):
            raise TypeError(f"read_idx(sha256): expected None or a SHA-256 as a str of 64 hexadecimal digits, "
                            f"got {type(sha256).__name__}: {sha256!r}"[:200])
        if len(sha256) != 64 or sha256.strip("0123456789abcdefABCDEF"):
            raise ValueError(f"read_idx(sha256): expected 64 hexadecimal digits, got {sha256!r}"[:200])
    path = Path(path)
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        f = gzip.GzipFile(fileobj=raw) if gzipped else raw
        head = _read_exactly(f, 4, path)
        dtype, ndim = _header(head, str(path))
        sizes = _read_exactly(f, 4 * ndim, path)
        if len(sizes) < 4 * ndim:
            raise ValueError(f"{path}: truncated IDX header (the {ndim} sizes need {4 * ndim} bytes, "
                             f"found {len(sizes)})")
        shape = tuple(int.from_bytes(sizes[4 * i: 4 * i + 4], "big") for i in range(ndim))
        expected = _size(shape, dtype, str(path), max_bytes)
        if not gzipped:
            held = os.fstat(raw.fileno()).st_size - 4 - 4 * ndim
            if held != expected:
                raise ValueError(f"{path}: IDX header says shape {shape} ({expected:,} data bytes) but the "
                                 f"file holds {held:,}")
        body = _read_exactly(f, expected, path)
        extra = _read_exactly(f, 1, path) if gzipped else b""
        if len(body) != expected or extra:
            held = f"{len(body):,}" if not extra else f"more than {expected:,}"
            raise ValueError(f"{path}: IDX header says shape {shape} ({expected:,} data bytes) but the "
                             f"file holds {held}")
    if sha256 is not None:
        got = hashlib.sha256(head + sizes + body).hexdigest()
        if got != sha256.lower():
            raise ChecksumError(f"{path}: SHA-256 of the uncompressed file is {got}, expected {sha256} "
                                "(the file is corrupted or is not the official MNIST file)")
    return np.frombuffer(body, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _expected_sum(sums: Mapping[str, str], base: str, where: str) -> str:
    """The SHA-256 for ``base`` from a checksum table; a table without it is an error (it
    would silently skip the check)."""
    if not isinstance(sums, Mapping):
        raise TypeError(f"{where}: expected a mapping {{file base name: SHA-256}}, None or False, "
                        f"got {type(sums).__name__}")
    if base not in sums:
        raise ValueError(f"{where}: the checksum table has no entry for {base!r} (its keys: "
                         f"{sorted(sums)[:4]}); give the SHA-256 of every file, or sums=False to skip the check")
    return sums[base]


def _candidates(base: str) -> list[str]:
    dotted = base.replace("-idx", ".idx")
    return [base, base + ".gz", dotted, dotted + ".gz"]


def _locate(directory: Path, base: str) -> Optional[Path]:
    for name in _candidates(base):
        p = directory / name
        if p.is_file():
            return p
    return None


def find_mnist_dir(directory: Optional[PathLike] = None, cache_dir: Optional[PathLike] = None) -> Optional[Path]:
    """The first of: the ``directory`` argument; a ``cache_dir`` passed explicitly that
    holds all four files; $BACKPROPLAB_MNIST; the default cache if it holds them."""
    if directory is not None:
        return Path(directory)

    def complete(d: Path) -> bool:
        return all(_locate(d, b) for split in _SPLITS.values() for b in split)

    if cache_dir is not None and complete(Path(cache_dir)):
        return Path(cache_dir)
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return cache if complete(cache) else None


class _ProgressWriter:
    """A file wrapper that reports ``name: got/total MB (p %)`` on ``stream`` as bytes are
    written: in place on a terminal, once at the start and once at the end otherwise (logs
    stay short)."""

    def __init__(self, out, name: str, total: int, stream) -> None:
        self.out, self.name, self.total, self.stream, self.got = out, name, total, stream, 0
        self.live = hasattr(stream, "isatty") and stream.isatty()
        if not self.live:
            size = f" ({total / 1e6:.1f} MB)" if total else ""
            print(f"downloading {name}{size} ...", file=stream, flush=True)

    def write(self, chunk: bytes) -> int:
        self.got += len(chunk)
        if self.live:
            of = f"/{self.total / 1e6:.1f}" if self.total else ""
            share = f" ({100 * self.got / self.total:3.0f} %)" if self.total else ""
            print(f"\rdownloading {self.name}: {self.got / 1e6:.1f}{of} MB{share}", end="", file=self.stream,
                  flush=True)
        return self.out.write(chunk)

    def done(self) -> None:
        print(("\r" if self.live else "") + f"downloaded {self.name}: {self.got / 1e6:.1f} MB",
              file=self.stream, flush=True)


def download_mnist(cache_dir: Optional[PathLike] = None, mirrors: Sequence[str] = MIRRORS,
                   sums: Optional[Mapping[str, str]] = None, timeout: float = 60.0,
                   progress: bool = True) -> Path:
    """Fetch the four ``.gz`` files into ``cache_dir`` from the first mirror that serves them
    with the right SHA-256; files already there and valid are kept. Returns the directory.
    ``progress``: report each file's download on stderr (in place on a terminal)."""
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    sums = OFFICIAL_SHA256 if sums is None else sums
    for base in [b for split in _SPLITS.values() for b in split]:
        target = cache / (base + ".gz")
        if target.is_file():
            try:
                read_idx(target, _expected_sum(sums, base, "download_mnist(sums)"))
                continue
            except (ValueError, OSError):
                target.unlink()
        errors = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + base + ".gz"
            fd, tmp = tempfile.mkstemp(dir=cache, suffix=".part")
            try:
                with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                    total = int(getattr(response, "headers", {}).get("Content-Length") or 0)
                    sink = _ProgressWriter(out, base + ".gz", total, sys.stderr) if progress else out
                    shutil.copyfileobj(response, sink)
                    if progress:
                        sink.done()
                read_idx(tmp, _expected_sum(sums, base, "download_mnist(sums)"))
                os.replace(tmp, target)
                break
            except Exception as exc:  # network errors, bad checksums: try the next mirror
                errors.append(f"{url}: {exc}")
            finally:  # also on Ctrl-C: a partial download never stays behind
                if os.path.exists(tmp):
                    os.unlink(tmp)
        else:
            raise OSError(f"could not download {base}.gz from any mirror:\n  " + "\n  ".join(errors))
    return cache


def load_mnist(directory: Optional[PathLike] = None, split: str = "train", *, download: bool = False,
               sums: Union[Mapping[str, str], None, bool] = None, cache_dir: Optional[PathLike] = None,
               mirrors: Sequence[str] = MIRRORS) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) uint8 and labels (N,) uint8 of the ``"train"`` or ``"test"`` split.

    ``sums`` maps official base names (``train-images-idx3-ubyte``, …) to SHA-256 sums
    (default: the official ones; ``False``: no check).
    """
    if split not in _SPLITS:
        raise ValueError(f"load_mnist(split) must be 'train' or 'test', got {split!r}")
    found = find_mnist_dir(directory, cache_dir)
    if found is None:
        if not download:
            raise FileNotFoundError(
                "MNIST not found: pass load_mnist(directory=...), set $" + ENV_VAR + " to a directory with the "
                f"four IDX files, or use download=True to fetch them into {cache_dir or default_cache_dir()}")
        found = download_mnist(cache_dir, mirrors, None if sums is False else sums)
    if sums is None:
        sums = OFFICIAL_SHA256
    arrays = []
    for base in _SPLITS[split]:
        path = _locate(found, base)
        if path is None:
            raise FileNotFoundError(f"MNIST: no {base} (or {', '.join(_candidates(base)[1:])}) in {found}")
        expected = None if sums is False else _expected_sum(sums, base, "load_mnist(sums)")
        try:
            arrays.append(read_idx(path, expected))
        except ValueError as exc:  # a corrupt gzip stream, a bad checksum, a truncated file
            cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
            if not (download and path.parent.resolve() == cache.resolve()):
                raise type(exc)(f"MNIST: {exc}. Delete {path} and fetch it again "
                                 f"(load_mnist(download=True) downloads into {cache})") from None
            path.unlink()  # our own cache: fetch a fresh copy
            download_mnist(cache, mirrors, None if sums is False else sums)
            arrays.append(read_idx(_locate(cache, base) or path, expected))
    images, labels = arrays
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"MNIST {split}: images {images.shape} and labels {labels.shape} do not match")
    return images, labels


def mnist_arrays(directory: Optional[PathLike] = None, split: str = "train", n: Optional[int] = None,
                 start: int = 0, scale: float = 1.0 / 256.0, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Flattened float images X (n, 784) = pixels·``scale`` and integer labels (n,).

    ``scale`` = 1/256 matches Nielsen's ``mnist.pkl.gz`` (pixel k stored as k/256).
    """
    n = None if n is None else validate.int_at_least(n, "mnist_arrays(n)", 1)
    start = validate.int_at_least(start, "mnist_arrays(start)", 0)
    scale = validate.positive_number(scale, "mnist_arrays(scale)")
    images, labels = load_mnist(directory, split, **kwargs)
    if start >= len(images):
        raise ValueError(f"mnist_arrays(start={start}) is past the end of the {split} split "
                         f"({len(images)} images)")
    stop = None if n is None else start + n
    X = images[start:stop].reshape(-1, images.shape[1] * images.shape[2]).astype(float) * scale
    return X, labels[start:stop].astype(int)
