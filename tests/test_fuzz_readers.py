"""Fuzzing the readers with damaged metadata (issue 18).

Random bit flips, byte overwrites, insertions, deletions and truncations of
the metadata of each format bigimg reads: a Zarr v3 ``zarr.json`` and a v2
``.zarray``, an OME-Zarr group's ``zarr.json`` (NGFF 0.5) and ``.zattrs``
(NGFF 0.4), the header and IFDs (tags and their out-of-line values) of TIFF
files written by bigimg and by tifffile (tiled, multi-page strips,
contiguous), and a ``.npy`` header. Hypothesis draws the damage,
derandomized (the same cases every run) and without an example database.

Each damaged input, read with ``bigimg.info``, ``bigimg.open`` and computed
(only if the array it now describes is under :data:`COMPUTE_LIMIT` bytes), must

* open to an array whose shape and dtype are what ``info`` says; a metadata
  file that still decodes to the original JSON must give the original pixels,
  and a JSON metadata file that no longer decodes must not open at all; or
* be refused with a :class:`bigimg.errors.BigimgError` naming the file (or
  a plain ``ValueError``, ``TypeError`` or ``FileNotFoundError`` naming it,
  which ``bigimg.open`` documents for options that do not fit the file),

within :data:`TIME_LIMIT` seconds, never any other exception. A sample of
cases also runs in a child interpreter, which must not crash. The outcomes
are tallied and printed by ``test_report_outcomes`` (``pytest -s``).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import dask
import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st

import bigimg
from bigimg.errors import BigimgError, MetadataError

#: A damaged array is computed only if it is smaller than this.
COMPUTE_LIMIT = 64 * 2**20
#: Seconds one case (info, open and compute) may take.
TIME_LIMIT = 5.0
#: Examples per source: eight times the profile's (default 320, ci 480, stress 4000).
EXAMPLES = settings().max_examples * 8

#: The plain exceptions ``bigimg.open`` documents besides its own (options that do
#: not fit, e.g. ``component=`` to choose from a group that is no longer OME-Zarr).
DOCUMENTED = (ValueError, TypeError, FileNotFoundError)

#: outcomes by source: ``{"zarr-v3": Counter({"opened": 3, "MetadataError": 40})}``
TALLY: defaultdict[str, Counter[str]] = defaultdict(Counter)

Op = tuple[str, int, Any]


@dataclass(frozen=True, repr=False)
class Source:
    """An undamaged image and where to damage it.

    ``member`` is the file damaged, relative to ``path`` (``""``: ``path``
    itself); ``spots`` the byte positions of the metadata in it (the
    mutations happen there); ``original`` the image's pixels.
    """

    name: str
    path: Path
    member: str
    spots: tuple[int, ...]
    original: np.ndarray

    def __repr__(self) -> str:
        return f"Source({self.name!r})"

    @property
    def target(self) -> Path:
        return self.path / self.member if self.member else self.path

    @property
    def is_json(self) -> bool:
        return self.member.endswith(("zarr.json", ".zarray", ".zattrs"))


def _tiff_spots(path: Path) -> tuple[int, ...]:
    """The header's bytes, and each IFD's: entries, next-page link, tag values."""
    spots: set[int] = set(range(16))
    with tifffile.TiffFile(path) as tif:
        fmt = tif.tiff
        for page in tif.pages:
            size = fmt.tagnosize + len(page.tags) * fmt.tagsize + fmt.offsetsize
            spots.update(range(page.offset, page.offset + size))
            for tag in page.tags:
                if tag.valuebytecount > fmt.tagoffsetthreshold:
                    spots.update(range(tag.valueoffset, tag.valueoffset + tag.valuebytecount))
    return tuple(sorted(spots))


def build_sources(base: Path) -> dict[str, Source]:
    """Write one undamaged image of each kind under ``base``."""
    rng = np.random.default_rng(18)
    plane = rng.integers(0, 60000, (40, 48)).astype("uint16")
    stack = rng.integers(0, 250, (3, 40, 48)).astype("uint8")
    sources = []
    for name, file, member, options in [
        ("zarr-v3", "a3.zarr", "zarr.json", {}),
        ("zarr-v2", "a2.zarr", ".zarray", {"zarr_format": 2}),
        ("ome-0.5", "o3.ome.zarr", "zarr.json", {"min_size": 16}),
        ("ome-0.4", "o2.ome.zarr", ".zattrs", {"min_size": 16, "zarr_format": 2}),
    ]:
        path = bigimg.save(plane, base / file, **options)
        size = (path / member).stat().st_size
        sources.append(Source(name, path, member, tuple(range(size)), plane))
    tiffs = {
        "tiff-bigimg": (base / "s.tif", stack),
        "tiff-tiled": (base / "t.tif", stack),
        "tiff-strips": (base / "m.tif", stack),
        "tiff-contiguous": (base / "c.tif", plane),
    }
    bigimg.save(stack, tiffs["tiff-bigimg"][0], tile=(16, 16))
    tifffile.imwrite(
        tiffs["tiff-tiled"][0], stack, tile=(16, 16), compression="zlib", photometric="minisblack"
    )
    with tifffile.TiffWriter(tiffs["tiff-strips"][0]) as writer:
        for page in stack:  # three separate pages (no shape metadata tying them)
            writer.write(page, rowsperstrip=8, photometric="minisblack", metadata=None)
    tifffile.imwrite(tiffs["tiff-contiguous"][0], plane, photometric="minisblack")
    for name, (path, data) in tiffs.items():
        sources.append(Source(name, path, "", _tiff_spots(path), data))
    npy = base / "a.npy"
    np.save(npy, plane)
    header = npy.stat().st_size - plane.nbytes
    sources.append(Source("npy", npy, "", tuple(range(header)), plane))
    return {s.name: s for s in sources}


# --- damage -------------------------------------------------------------------------

#: bytes worth inserting: digits (numbers grow), JSON structure, escapes, junk
_INSERTS = [b"9", b"99999", b"0", b"-", b'"', b"{", b"}", b"[", b"]", b",", b":", b"\\",
            b"\xff", b"\x00", b"null", b" "]  # fmt: skip


@st.composite
def damage(draw: Any, source: Source) -> list[Op]:
    """One to three mutations at the metadata positions of ``source``."""
    spot = st.integers(0, len(source.spots) - 1).map(source.spots.__getitem__)
    inserted = st.sampled_from(_INSERTS) | st.binary(min_size=1, max_size=8)
    one = st.one_of(
        st.tuples(st.just("flip"), spot, st.integers(0, 7)),
        st.tuples(st.just("set"), spot, st.integers(0, 255)),
        st.tuples(st.just("insert"), spot, inserted),
        st.tuples(st.just("delete"), spot, st.integers(1, 8)),
        st.tuples(st.just("truncate"), spot, st.just(0)),
    )
    return draw(st.lists(one, min_size=1, max_size=3))


def random_damage(rng: random.Random, source: Source) -> list[Op]:
    """The same kinds of mutation as :func:`damage`, from a seeded ``random``."""
    ops: list[Op] = []
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["flip", "set", "insert", "delete", "truncate"])
        where = rng.choice(source.spots)
        value = {
            "flip": lambda: rng.randrange(8),
            "set": lambda: rng.randrange(256),
            "insert": lambda: rng.choice(_INSERTS),
            "delete": lambda: rng.randint(1, 8),
            "truncate": lambda: 0,
        }[kind]()
        ops.append((kind, where, value))
    return ops


def apply(data: bytes, ops: list[Op]) -> bytes:
    """``data`` with ``ops`` applied in order (positions past the end clamped)."""
    out = bytearray(data)
    for kind, where, value in ops:
        if not out:
            break
        where = min(where, len(out) - 1)
        if kind == "flip":
            out[where] ^= 1 << value
        elif kind == "set":
            out[where] = value
        elif kind == "insert":
            out[where:where] = value
        elif kind == "delete":
            del out[where : where + value]
        else:
            del out[where:]
    return bytes(out)


@contextlib.contextmanager
def damaged_copy(source: Source, ops: list[Op]) -> Iterator[Path]:
    """A copy of ``source`` in a new directory, its metadata damaged by ``ops``."""
    workdir = Path(tempfile.mkdtemp(dir=source.path.parent, prefix="case-"))
    try:
        path = workdir / source.path.name
        if source.path.is_dir():
            shutil.copytree(source.path, path)
        else:
            shutil.copyfile(source.path, path)
        target = path / source.member if source.member else path
        target.write_bytes(apply(target.read_bytes(), ops))
        yield path
    finally:
        shutil.rmtree(workdir)


# --- the check ----------------------------------------------------------------------


class CaseTimeout(BaseException):
    """A case ran out of time (a BaseException: the readers' handlers let it pass)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: FrameType | None) -> None:
        raise CaseTimeout(f"no outcome after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _decodes_to(data: bytes, original: bytes) -> tuple[bool, bool]:
    """(is JSON, decodes to the same value as ``original``)."""
    try:
        value = json.loads(data)
    except ValueError:
        return False, False
    return True, value == json.loads(original)


def outcome(source: Source, path: Path) -> str:
    """Read the damaged copy ``path`` of ``source``; the kind of outcome, or an
    ``AssertionError`` saying how it does not conform."""
    member = path / source.member if source.member else path
    try:
        with time_limit(TIME_LIMIT), dask.config.set(scheduler="synchronous"):
            info = bigimg.info(path)
            image = bigimg.open(path)
            assert (image.shape, image.dtype) == (info.shape, info.dtype), (image, info)
            if image.nbytes >= COMPUTE_LIMIT:
                kind = "opened, too large to compute"
            else:
                pixels = np.asarray(image.compute())
                assert (pixels.shape, pixels.dtype) == (image.shape, image.dtype), pixels
                kind = "opened"
    except CaseTimeout as exc:
        raise AssertionError(f"{source.name}: reading the damaged {member} hangs: {exc}") from None
    except (BigimgError, *DOCUMENTED) as exc:
        if not isinstance(exc, BigimgError):  # only these very classes, no subclass
            assert type(exc) in DOCUMENTED, exc
        message = str(exc)
        assert str(path) in message or path.name in message, (
            f"{source.name}: {type(exc).__name__} does not name the file: {message}"
        )
        return type(exc).__name__
    if source.is_json:
        is_json, same = _decodes_to(member.read_bytes(), source.target.read_bytes())
        assert is_json, f"{source.name}: {member} is not JSON any more, yet it opened"
        if same and kind == "opened":  # only formatting changed: the very same image
            np.testing.assert_array_equal(pixels, source.original)
    return kind


def check(source: Source, ops: list[Op]) -> str:
    """Damage a copy of ``source`` with ``ops``, read it, tally the outcome."""
    with damaged_copy(source, ops) as path:
        try:
            kind = outcome(source, path)
        except AssertionError:
            TALLY[source.name]["NOT CONFORMING"] += 1
            raise
        except Exception as exc:
            TALLY[source.name]["NOT CONFORMING"] += 1
            raise AssertionError(
                f"{source.name}: damage {ops} raised {type(exc).__module__}."
                f"{type(exc).__name__}, not a bigimg error: {exc}"
            ) from exc
    TALLY[source.name][kind] += 1
    return kind


# --- tests --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Source]:
    return build_sources(tmp_path_factory.mktemp("fuzz"))


SOURCE_NAMES = ["zarr-v3", "zarr-v2", "ome-0.5", "ome-0.4", "tiff-bigimg", "tiff-tiled",
                "tiff-strips", "tiff-contiguous", "npy"]  # fmt: skip


def test_sources_are_read_whole(sources: dict[str, Source]) -> None:
    """The undamaged sources read back as written, and only the fuzzed names exist."""
    assert sorted(sources) == sorted(SOURCE_NAMES)
    for source in sources.values():
        np.testing.assert_array_equal(bigimg.open(source.path).compute(), source.original)
        with damaged_copy(source, []) as path:
            assert outcome(source, path) == "opened"


@pytest.mark.parametrize("name", SOURCE_NAMES)
@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None)
@given(data=st.data())
def test_damaged_metadata_is_read_or_refused_by_name(
    name: str, sources: dict[str, Source], data: st.DataObject
) -> None:
    source = sources[name]
    check(source, data.draw(damage(source), label="damage"))


CRASH_SAMPLE = 24  # cases per source in the child interpreter


def crash_sample(base: str, seed: int, per_source: int) -> None:
    """Run ``per_source`` seeded cases of each source (in a child interpreter)."""
    rng = random.Random(seed)
    for source in build_sources(Path(base)).values():
        for _ in range(per_source):
            ops = random_damage(rng, source)
            print(source.name, ops, flush=True)  # the last line names a crashing case
            with contextlib.suppress(AssertionError):  # judged in the parent's tests
                check(source, ops)
    print("done", flush=True)


def test_damaged_metadata_does_not_crash_the_interpreter(tmp_path: Path) -> None:
    code = textwrap.dedent(f"""
        from tests.test_fuzz_readers import crash_sample
        crash_sample({str(tmp_path)!r}, 18, {CRASH_SAMPLE})
    """)
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
        timeout=300,
    )
    lines = done.stdout.splitlines()
    last = lines[-1] if lines else "(nothing)"
    assert done.returncode == 0, f"exit {done.returncode} after {last}: {done.stderr[-2000:]}"
    assert last == "done" and len(lines) == CRASH_SAMPLE * len(SOURCE_NAMES) + 1


def test_report_outcomes() -> None:
    """Print the cases tried and their outcomes by source (``pytest -s``)."""
    kinds = sorted({k for tally in TALLY.values() for k in tally})
    print(f"\ndamaged inputs tried: {sum(sum(t.values()) for t in TALLY.values())}")
    for name, tally in sorted(TALLY.items()):
        parts = ", ".join(f"{k} {tally[k]}" for k in kinds if tally[k])
        print(f"  {name:16} {sum(tally.values()):5}: {parts}")
    assert all(tally["NOT CONFORMING"] == 0 for tally in TALLY.values()), dict(TALLY)


# --- regressions: each damage the fuzzing found, made by hand ----------------------


def _refused(path: Path, cls: type[BigimgError] = MetadataError) -> BigimgError:
    """The error ``bigimg.info`` and ``bigimg.open`` both raise for ``path`` (they
    must agree), within the time limit; it must name the file."""
    errors = []
    for call in (bigimg.info, bigimg.open):
        with time_limit(TIME_LIMIT), pytest.raises(cls) as info:
            call(path)
        assert str(path) in str(info.value), str(info.value)
        errors.append(info.value)
    assert type(errors[0]) is type(errors[1])
    return errors[0]


def _edit_json(file: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    meta = json.loads(file.read_text())
    edit(meta)
    file.write_text(json.dumps(meta))


def _plane() -> np.ndarray:
    return np.arange(40 * 48, dtype="uint16").reshape(40, 48)


ZARR_DAMAGE: dict[str, tuple[int, str, Callable[[dict[str, Any]], None], str, type]] = {
    # name: (zarr_format, file, edit, expected message, type of the cause)
    "v2 key missing": (2, ".zarray", lambda m: m.pop("order"), r"'order'", TypeError),
    "v3 codec option": (3, "zarr.json",
                        lambda m: m["codecs"][1]["configuration"].update({"lev%l": 0}),
                        r"'lev%l'", TypeError),
    "v3 grid name": (3, "zarr.json", lambda m: m["chunk_grid"].pop("name"), r"'name'",
                     ValueError),
    "v2 chunk of 0": (2, ".zarray", lambda m: m.update(chunks=[0, 48]),
                      r"chunk shape \(0, 48\) does not fit the shape \(40, 48\)", type(None)),
    "v3 fill value range": (3, "zarr.json", lambda m: m.update(fill_value=999990),
                            r"999990 out of bounds for uint16", OverflowError),
    "v3 node_type": (3, "zarr.json", lambda m: m.pop("node_type"),
                     r"'node_type' must be 'array' or 'group', not missing", type(None)),
    "v3 node_type misspelt": (3, "zarr.json", lambda m: m.update(node_type="arrby"),
                              r"'node_type' must be 'array' or 'group', not 'arrby'",
                              type(None)),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(ZARR_DAMAGE))
def test_damaged_zarr_metadata_names_the_file(case: str, tmp_path: Path) -> None:
    zarr_format, name, edit, expected, cause = ZARR_DAMAGE[case]
    path = bigimg.save(_plane(), tmp_path / "a.zarr", zarr_format=zarr_format)
    _edit_json(path / name, edit)
    error = _refused(path)
    assert str(error).startswith(f"{str(path / name)!r}: the Zarr metadata"), str(error)
    assert re.search(expected, str(error)), str(error)
    assert isinstance(error.__cause__, cause)


@pytest.mark.parametrize("zarr_format", [3, 2])
def test_damaged_metadata_of_an_ome_level_names_its_file(zarr_format: int, tmp_path: Path) -> None:
    path = bigimg.save(_plane(), tmp_path / "p.ome.zarr", zarr_format=zarr_format, min_size=16)
    name = "zarr.json" if zarr_format == 3 else ".zarray"
    remove = "data_type" if zarr_format == 3 else "dtype"
    _edit_json(path / "1" / name, lambda m: m.pop(remove))
    error = _refused(path)
    assert str(error).startswith(f"{str(path / '1' / name)!r}: the Zarr metadata"), str(error)
    assert error.__cause__ is not None


def test_zarr_of_enormous_shape_opens_lazily_or_is_refused(tmp_path: Path) -> None:
    """Digits too many in the shape: not minutes of dask's chunk arithmetic and
    gigabytes, nor a MemoryError; beyond 512 TiB, refused (MetadataError)."""
    path = bigimg.save(_plane(), tmp_path / "a.zarr")
    for shape, refused in [((4 * 10**12, 48), False), ((4 * 10**9, 48 * 10**8), True),
                           ((4 * 10**17, 48 * 10**16), True)]:  # fmt: skip

        def edit(meta: dict[str, Any], shape: tuple[int, ...] = shape) -> None:
            meta.update(shape=list(shape))
            meta["chunk_grid"]["configuration"]["chunk_shape"] = [40, 48]

        _edit_json(path / "zarr.json", edit)
        assert bigimg.info(path).shape == shape  # what it says, without reading pixels
        with time_limit(TIME_LIMIT):
            if not refused:
                assert bigimg.open(path).shape == shape
                continue
            with pytest.raises(MetadataError) as info:
                bigimg.open(path)
        message = str(info.value)
        assert message.startswith(f"{str(path / 'zarr.json')!r}: shape {shape}"), message
        assert "is too large to open" in message, message


def _npy(path: Path, header: bytes) -> Path:
    """``a.npy`` holding _plane() with the dictionary of its header replaced."""
    np.save(path, _plane())
    data = path.read_bytes()
    size = int.from_bytes(data[8:10], "little")
    path.write_bytes(data[:8] + len(header).to_bytes(2, "little") + header + data[10 + size :])
    return path


@pytest.mark.parametrize(
    "header, expected",
    [
        (b"{'descr': '<u2', 'fortran_order': False, 'shape': (40, 48", r"TokenError"),
        (b"{'descr': '<u2', 'fortran_order': False, 'shape': (40, 4%8), }", r"header is damaged"),
        (b"{'descr': '<u2', 'fortran_order': False, 'shape': (40, 58), }", r"the file is trunc"),
        (b"{'descr': '<u2', 'fortran_order': False, 'shape': (-40, -48), }", r"negative"),
    ],
)
def test_damaged_npy_header_is_metadata_error(
    header: bytes, expected: str, tmp_path: Path
) -> None:
    path = _npy(tmp_path / "a.npy", header.ljust(117) + b"\n")
    error = _refused(path)
    assert re.search(expected, str(error)), str(error)


def _strips(path: Path) -> Path:
    with tifffile.TiffWriter(path) as writer:
        for page in np.arange(3 * 40 * 48, dtype="uint8").reshape(3, 40, 48):
            writer.write(page, rowsperstrip=8, photometric="minisblack", metadata=None)
    return path


def _tiled(path: Path) -> Path:
    data = np.arange(3 * 40 * 48, dtype="uint8").reshape(3, 40, 48)
    tifffile.imwrite(path, data, tile=(16, 16), compression="zlib", photometric="minisblack")
    return path


def _set_tag(path: Path, page: int, code: int, *, count: int | None = None,
             value: int | None = None, kind: int | None = None) -> None:  # fmt: skip
    """Overwrite the data type, count or (inline, 4-byte) value of a classic TIFF's tag."""
    with tifffile.TiffFile(path) as tif:
        offset = tif.pages[page].tags[code].offset
    with open(path, "r+b") as f:
        for at, field, fmt in ((2, kind, "<H"), (4, count, "<I"), (8, value, "<I")):
            if field is not None:
                f.seek(offset + at)
                f.write(struct.pack(fmt, field))


TIFF_DAMAGE: dict[str, tuple[Callable[[Path], Path], Callable[[Path], None], str]] = {
    # name: (writer, damage, expected message)
    "unknown compression": (_strips, lambda p: _set_tag(p, 0, 259, value=12345),
                            r"page 0 has compression 12345, which tifffile does not know"),
    "image width 0": (_tiled, lambda p: _set_tag(p, 0, 256, value=0), r"ZeroDivisionError"),
    "tile width 0": (_tiled, lambda p: _set_tag(p, 0, 322, value=0),
                     r"\(page 0\): TiffFileError"),
    "page 1 another width": (_tiled, lambda p: _set_tag(p, 1, 256, value=50),
                             r"incompatible keyframe"),
    "tile offsets count": (_tiled, lambda p: _set_tag(p, 0, 324, count=1),
                           r"incompatible keyframe"),
    "strips missing": (_strips, lambda p: _set_tag(p, 0, 257, value=1048616),
                       r"page 0 has 5 strip offsets but its 1048616 x 48 pixels in strips "
                       r"of 8 x 48 need 131077"),
    "tiles missing": (_tiled, lambda p: _set_tag(p, 0, 257, value=458792),
                      r"page 0 has 9 tile offsets but .* need 86025"),
    "height 2**31": (_tiled, lambda p: _set_tag(p, 0, 257, value=2**31),
                     r"page 0 has 9 tile offsets but .* need 402653184"),
    "height a float": (_strips, lambda p: _set_tag(p, 0, 257, kind=12),  # DOUBLE
                       r"series 0 has the shape \(.*\), not one of whole numbers"),
    "cut inside the first IFD": (_strips, lambda p: os.truncate(p, 14),
                                 r"corrupted IFD structure"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(TIFF_DAMAGE))
def test_damaged_tiff_tags_are_metadata_errors(case: str, tmp_path: Path) -> None:
    write, damage, expected = TIFF_DAMAGE[case]
    path = write(tmp_path / "stack.tif")
    damage(path)
    error = _refused(path)
    assert str(error).startswith(f"{str(path)!r}"), str(error)
    assert re.search(expected, str(error)), str(error)
