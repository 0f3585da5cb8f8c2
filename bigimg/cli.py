"""The ``bigimg`` command: a thin layer over the Python API."""

from __future__ import annotations

import argparse
import asyncio
import math
import socket
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

import bigimg
from bigimg.errors import BigimgError, CorruptDataError, MetadataError, WriteError
from bigimg.io import targets
from bigimg.io.registry import target_format
from bigimg.monitor import PeakMemory

__all__ = ["main"]


def _sizes(minimum: int) -> Callable[[str], tuple[int, ...]]:
    """An argparse type: integers like ``1024,1024`` (or ``1024x1024``), each
    at least ``minimum``."""

    def sizes(text: str) -> tuple[int, ...]:
        try:
            values = tuple(int(v) for v in text.replace("x", ",").split(",") if v.strip())
        except ValueError:
            values = ()
        if not values:
            raise argparse.ArgumentTypeError(f"expected integers like 1024,1024, got {text!r}")
        if min(values) < minimum:
            raise argparse.ArgumentTypeError(
                f"expected integers >= {minimum} like 1024,1024, got {text!r}"
            )
        return values

    return sizes


_ints = _sizes(0)


def _chunks(text: str) -> Any:
    return text if text == "auto" else _sizes(1)(text)


def _count(minimum: int, below: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer ``>= minimum`` (and ``< below``)."""

    def count(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum or (below is not None and value >= below):
            bound = f" and < {below}" if below is not None else ""
            raise argparse.ArgumentTypeError(
                f"expected an integer >= {minimum}{bound}, got {text!r}"
            )
        return value

    return count


def _finite(text: str) -> float:
    """An argparse type: a finite number."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _levels(text: str) -> tuple[float, ...]:
    """An argparse type: finite numbers like ``0.5,0.8``."""
    try:
        return tuple(_finite(v) for v in text.split(","))
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected finite numbers like 0.5,0.8, got {text!r}"
        ) from None


def _dtype(text: str) -> str:
    """An argparse type: a numpy dtype, kept as written."""
    try:
        np.dtype(text)
    except (TypeError, ValueError, SyntaxError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a numpy dtype (e.g. '<u2', '>f4', 'uint8')"
        ) from None
    return text


def _source_format(text: str) -> str:
    """An argparse type: a format bigimg reads."""
    from bigimg.io.registry import source_formats

    if text not in source_formats():
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a format bigimg reads; choose from {', '.join(source_formats())}"
        )
    return text


def _target_format(text: str) -> str:
    """An argparse type: a format bigimg writes."""
    from bigimg.io.registry import target_formats

    if text not in target_formats():
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a format bigimg writes; choose from {', '.join(target_formats())}"
        )
    return text


def _local(key: str) -> Callable[[str], Any]:
    """An argparse type for a local cluster's ``key``, by :func:`bigimg.cluster.local_problem`."""

    def parse(text: str) -> Any:
        value: Any = text
        if key != "memory_limit":
            try:
                value = int(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        problem = bigimg.cluster.local_problem(key, value)
        if problem is not None:
            raise argparse.ArgumentTypeError(f"{text!r} {problem}")
        return value

    return parse


def _address(text: str) -> str:
    """An argparse type: a scheduler address like ``tcp://host:8786``."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(text)
        if scheme in ("tcp", "tls", "ws", "wss"):
            host, port = parse_host_port(location)
            if not host or not 0 < int(port) < 65536:
                raise ValueError(location)
    except (ValueError, TypeError):
        raise argparse.ArgumentTypeError(
            f"expected a scheduler address like tcp://host:8786, got {text!r}"
        ) from None
    return text


def _reachable(address: str, timeout: float = 5.0) -> None:
    """Refuse (before any work) a TCP scheduler address nothing answers at."""
    from distributed.comm.addressing import parse_address, parse_host_port

    scheme, location = parse_address(address)
    if scheme not in ("tcp", "tls", "ws", "wss"):
        return
    host, port = parse_host_port(location)
    try:  # fast for a refused connection (a Client retries until its timeout)
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise _OptionError(
            f"--scheduler {address}: no scheduler answers there ({exc.strerror or exc})"
        ) from None
    from distributed.comm import connect

    async def handshake() -> None:
        comm = await connect(address, timeout=timeout)
        await comm.close()

    try:  # something answers: is it a dask scheduler? (no Client: none is left to close)
        asyncio.run(asyncio.wait_for(handshake(), 2 * timeout))
    except Exception as exc:  # what a non-scheduler's reply makes distributed raise varies
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _OptionError(
            f"--scheduler {address}: not a dask scheduler, or it does not answer ({detail})"
        ) from None


def _check_out(option: str, path: str | Path) -> None:
    """Refuse an output path inside something that is not a folder."""
    for parent in Path(path).absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise _OptionError(f"{option} {path}: {str(parent)!r} is not a folder")
            return


class _OptionError(ValueError):
    """An option's value refused before any work (exit status 2)."""


def _source_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for key in ("dtype", "shape", "offset", "order", "component", "level"):
        value = getattr(args, key, None)
        if value is not None:
            options[key] = value
    return options


def _add_source_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format", type=_source_format, help="force the source format (raw, npy, zarr, tiff)"
    )
    g = p.add_argument_group("raw files")
    g.add_argument(
        "--dtype", type=_dtype, help="pixel dtype, byte order included (e.g. '<u2', '>f4')"
    )
    g.add_argument("--shape", type=_ints, help="e.g. 32768,32768")
    g.add_argument("--offset", type=_count(0), help="bytes before the first pixel")
    g.add_argument("--order", choices=("C", "F"))
    z = p.add_argument_group("zarr")
    z.add_argument("--component", help="array name inside a Zarr group")
    z.add_argument("--level", type=_count(0), help="OME-Zarr pyramid level (0 = full resolution)")


def _add_cluster_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("where to run (default: threads in this process)")
    g.add_argument("--scheduler", type=_address, help="address of a running dask scheduler")
    g.add_argument("--workers", type=_local("workers"), help="start a local cluster of N workers")
    g.add_argument("--memory-limit", type=_local("memory_limit"), help="memory per worker: 2GiB")


def _cmd_info(args: argparse.Namespace) -> int:
    info = bigimg.info(args.path, format=args.format, **_source_options(args))
    print(info.describe())
    return 0 if info.complete else 3


def _check_cluster(args: argparse.Namespace) -> None:
    """Refuse cluster options that would be ignored or clash, and a scheduler
    that does not answer, before any work."""
    if args.scheduler and (args.workers or args.memory_limit):
        given = "--workers" if args.workers else "--memory-limit"
        raise _OptionError(f"{given} starts a local cluster; it cannot be used with --scheduler")
    if args.memory_limit and not args.workers:
        raise _OptionError("--memory-limit applies to a local cluster: give --workers too")
    if args.scheduler:
        _reachable(args.scheduler)


def _cmd_convert(args: argparse.Namespace) -> int:
    _check_out("target", args.target)
    _check_cluster(args)
    image = bigimg.open(
        args.source, format=args.format, chunks=args.chunks, **_source_options(args)
    )
    options: dict[str, Any] = {}
    if args.zarr_format is not None:
        options["zarr_format"] = args.zarr_format
    if target_format(targets.resolve(args.target), args.to) in ("ome-zarr", "tiff"):
        # pixel sizes, units and axes carried over (where the source has them)
        options["like"] = bigimg.info(args.source, format=args.format, **_source_options(args))
    start = time.perf_counter()
    where_to = bigimg.cluster.compute_context(
        args.scheduler, workers=args.workers, memory_limit=args.memory_limit
    )
    with PeakMemory() as memory, where_to as where:
        out = bigimg.save(image, args.target, format=args.to, overwrite=args.overwrite, **options)
    _summary(out, image, start, memory, where)
    return 0


def _summary(out: Path, image: Any, start: float, memory: PeakMemory, where: str) -> None:
    print(f"wrote {out}")
    print(
        f"  shape {image.shape}, dtype {image.dtype}, {image.nbytes / 2**30:.2f} GiB, "
        f"{image.npartitions} chunks of {image.chunksize}"
    )
    print(
        f"  ran on {where} in {time.perf_counter() - start:.1f} s; "
        f"peak memory of all processes {memory.peak / 2**30:.2f} GiB"
    )


def _cmd_run(args: argparse.Namespace) -> int:
    from bigimg import pipeline

    if args.out is not None:
        _check_out("--out", args.out)
    try:
        job = pipeline.load(
            args.job,
            output_dir=args.out,
            overwrite=args.overwrite,
            scheduler=args.scheduler,
            settings=tuple(args.set or ()),
        )
    except UnicodeDecodeError as exc:  # config reads the file as text
        raise _OptionError(
            f"{args.job}: the job file is not text (UTF-8): {exc.reason} at byte {exc.start}"
        ) from None
    if args.scheduler and not args.dry_run:
        _reachable(args.scheduler)
    if args.dry_run:
        from bigimg.pipeline import budget

        the_plan = pipeline.plan(job)
        print(the_plan.describe())
        print(budget.describe(the_plan))
        budget.check(the_plan)  # a job that cannot fit is refused here too
        return 0
    summary = pipeline.run(job, keep_work=args.keep_work, progress=not args.quiet)
    print(summary.text())
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    config = Path(__file__).parent / "configs" / "tutorial.yaml"
    _check_out("--out", args.out)
    settings = [f"input.shape=[{','.join(str(n) for n in args.shape)}]", f"input.seed={args.seed}"]
    if args.chunks is not None:
        settings.append(f"input.chunks=[{','.join(str(n) for n in args.chunks)}]")
    argv = ["run", str(config), "--out", args.out, *(f"--set={s}" for s in settings)]
    if args.overwrite:
        argv.append("--overwrite")
    if args.scheduler:
        argv += ["--scheduler", args.scheduler]
    print(f"demo: bigimg {' '.join(argv)}")
    return main(argv)


def _cmd_preview(args: argparse.Namespace) -> int:
    from bigimg.preview import preview

    _check_out("--out", args.out)
    if Path(args.out).suffix.lower() != ".png":
        raise _OptionError(f"--out {args.out}: pictures are written as PNG; end it in .png")
    if args.contour is not None and not Path(args.contour).exists():
        raise _OptionError(f"--contour {args.contour}: no such file or folder")
    picture = {"vmin": args.vmin, "vmax": args.vmax, "labels": args.labels or None}
    picture.update(contour=args.contour, levels=args.levels, max_size=args.max_size)
    picture["plane"] = args.plane
    counts = {"bins": args.bins, "threshold": args.threshold, "log": args.log or None}
    chosen, other = (counts, picture) if args.histogram else (picture, counts)
    wrong = ["--" + k.replace("_", "-") for k, v in other.items() if v is not None]
    if wrong:
        need = "cannot be used with" if args.histogram else "needs"
        raise ValueError(f"{', '.join(wrong)} {need} --histogram")
    options = {k: v for k, v in chosen.items() if v is not None}
    if args.histogram:
        options["kind"] = "histogram"
        if "threshold" in options:
            options["thresholds"] = options.pop("threshold")
    options.update(title=args.title, overwrite=args.overwrite, format=args.format)
    out = preview(args.path, args.out, **_source_options(args), **options)
    print(f"wrote {out}")
    return 0


class _Parser(argparse.ArgumentParser):
    """Option errors as ``bigimg <command>: error: ...`` like every other
    refusal (exit status 2), with a pointer to ``--help`` instead of the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n  (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bigimg", description="scipy.ndimage for images larger than memory")
    parser.add_argument("--version", action="version", version=f"bigimg {bigimg.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("info", help="format, shape, dtype, chunks, levels, completeness")
    p.add_argument("path")
    _add_source_arguments(p)
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("convert", help="copy an image to Zarr / OME-Zarr / TIFF, chunk by chunk")
    p.add_argument("source")
    p.add_argument("target")
    _add_source_arguments(p)
    p.add_argument("--chunks", type=_chunks, help="e.g. 1024,1024 (default: storage's, grouped)")
    p.add_argument(
        "--to", type=_target_format, help="target format (default: from the target suffix)"
    )
    p.add_argument("--zarr-format", type=int, choices=(2, 3))
    p.add_argument("--overwrite", action="store_true", help="replace an existing target")
    _add_cluster_arguments(p)
    p.set_defaults(func=_cmd_convert)

    p = sub.add_parser("run", help="run a job file (YAML): checked first, resumable")
    p.add_argument("job", help="the job file")
    p.add_argument("--dry-run", action="store_true", help="print the plan, compute nothing")
    p.add_argument("--out", help="output folder (default: the job's output_dir)")
    p.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="override a job setting, "
        "e.g. input.shape=[512,512] (repeatable)",
    )  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="replace outputs not from this job")
    p.add_argument(
        "--scheduler",
        type=_address,
        help="address of a running dask scheduler (overrides cluster)",
    )
    p.add_argument("--keep-work", action="store_true", help="keep stored intermediate results")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser(
        "demo", help="run the tutorial job (configs/tutorial.yaml) on synthetic data"
    )
    p.add_argument("--out", default="bigimg-demo", help="output folder (default: bigimg-demo)")
    p.add_argument("--shape", type=_sizes(1), default=(4096, 4096))
    p.add_argument("--chunks", type=_sizes(1), help="e.g. 1024,1024 (default: the job's)")
    p.add_argument("--seed", type=_count(0, 2**64), default=0)
    p.add_argument("--overwrite", action="store_true", help="replace earlier demo output")
    p.add_argument("--scheduler", type=_address, help="address of a running dask scheduler")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("preview", help="PNG picture (or histogram) of an image of any size")
    p.add_argument("path")
    p.add_argument("-o", "--out", required=True, help="PNG file to write")
    _add_source_arguments(p)
    g = p.add_argument_group("picture")
    g.add_argument("--vmin", type=_finite, help="value shown black (default: the minimum)")
    g.add_argument("--vmax", type=_finite, help="value shown white (default: the maximum)")
    g.add_argument("--labels", action="store_true", help="a label image: one colour per id")
    g.add_argument("--contour", help="a mask (same shape) drawn as contour lines")
    g.add_argument("--levels", type=_levels, help="contour levels, e.g. 0.5,0.8 (default: 0.5)")
    g.add_argument("--max-size", type=int, help="largest side in pixels (default: 1024)")
    g.add_argument("--plane", type=int, help="3-D stacks: plane shown (default: middle)")
    h = p.add_argument_group("histogram")
    h.add_argument("--histogram", action="store_true", help="draw the histogram instead")
    h.add_argument("--bins", type=int, help="number of bins (default: 256)")
    h.add_argument("--threshold", type=_finite, nargs="+", action="extend", help="mark values")
    h.add_argument("--log", action="store_true", help="logarithmic counts")
    p.add_argument("--title")
    p.add_argument("--overwrite", action="store_true", help="replace an existing picture")
    p.set_defaults(func=_cmd_preview)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage and the option named (or --help, --version)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return args.func(args)
    except (CorruptDataError, MetadataError, WriteError) as exc:  # damaged data, failed write
        print(f"bigimg {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except (BigimgError, ValueError, TypeError, OSError) as exc:  # refused before any work
        print(f"bigimg {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
