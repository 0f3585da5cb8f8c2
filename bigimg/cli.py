"""The ``bigimg`` command: a thin layer over the Python API."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import bigimg
from bigimg.errors import BigimgError, CorruptDataError, MetadataError, WriteError
from bigimg.monitor import PeakMemory

__all__ = ["main"]


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.replace("x", ",").split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected integers like 1024,1024, got {text!r}"
        ) from None


def _chunks(text: str) -> Any:
    return text if text == "auto" else _ints(text)


def _source_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for key in ("dtype", "shape", "offset", "order", "component", "level"):
        value = getattr(args, key, None)
        if value is not None:
            options[key] = value
    return options


def _add_source_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", help="force the source format (raw, npy, zarr, tiff)")
    g = p.add_argument_group("raw files")
    g.add_argument("--dtype", help="pixel dtype, byte order included (e.g. '<u2', '>f4')")
    g.add_argument("--shape", type=_ints, help="e.g. 32768,32768")
    g.add_argument("--offset", type=int, help="bytes before the first pixel")
    g.add_argument("--order", choices=("C", "F"))
    z = p.add_argument_group("zarr")
    z.add_argument("--component", help="array name inside a Zarr group")
    z.add_argument("--level", type=int, help="OME-Zarr pyramid level (0 = full resolution)")


def _add_cluster_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("where to run (default: threads in this process)")
    g.add_argument("--scheduler", help="address of a running dask scheduler")
    g.add_argument("--workers", type=int, help="start a local cluster of this many workers")
    g.add_argument("--memory-limit", help="memory per local worker, e.g. 2GiB")


def _cmd_info(args: argparse.Namespace) -> int:
    info = bigimg.info(args.path, format=args.format, **_source_options(args))
    print(info.describe())
    return 0 if info.complete else 3


def _cmd_convert(args: argparse.Namespace) -> int:
    image = bigimg.open(
        args.source, format=args.format, chunks=args.chunks, **_source_options(args)
    )
    options: dict[str, Any] = {}
    if args.zarr_format is not None:
        options["zarr_format"] = args.zarr_format
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

    job = pipeline.load(
        args.job,
        output_dir=args.out,
        overwrite=args.overwrite,
        scheduler=args.scheduler,
        settings=tuple(args.set or ()),
    )
    if args.dry_run:
        print(pipeline.plan(job).describe())
        return 0
    summary = pipeline.run(job, keep_work=args.keep_work, progress=not args.quiet)
    print(summary.text())
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    config = Path(__file__).parent / "configs" / "tutorial.yaml"
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
    elif args.levels is not None:
        try:
            options["levels"] = tuple(float(v) for v in args.levels.split(","))
        except ValueError:
            raise ValueError(
                f"--levels expects numbers like 0.5,0.8, got {args.levels!r}"
            ) from None
    options.update(title=args.title, overwrite=args.overwrite, format=args.format)
    out = preview(args.path, args.out, **_source_options(args), **options)
    print(f"wrote {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bigimg", description="scipy.ndimage for images larger than memory"
    )
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
    p.add_argument("--to", help="target format (default: from the target suffix)")
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
    p.add_argument("--scheduler", help="address of a running dask scheduler (overrides cluster)")
    p.add_argument("--keep-work", action="store_true", help="keep stored intermediate results")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser(
        "demo", help="run the tutorial job (configs/tutorial.yaml) on synthetic data"
    )
    p.add_argument("--out", default="bigimg-demo", help="output folder (default: bigimg-demo)")
    p.add_argument("--shape", type=_ints, default=(4096, 4096))
    p.add_argument("--chunks", type=_ints, help="e.g. 1024,1024 (default: the job's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace earlier demo output")
    p.add_argument("--scheduler", help="address of a running dask scheduler")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("preview", help="PNG picture (or histogram) of an image of any size")
    p.add_argument("path")
    p.add_argument("-o", "--out", required=True, help="PNG file to write")
    _add_source_arguments(p)
    g = p.add_argument_group("picture")
    g.add_argument("--vmin", type=float, help="value shown black (default: the minimum)")
    g.add_argument("--vmax", type=float, help="value shown white (default: the maximum)")
    g.add_argument("--labels", action="store_true", help="a label image: one colour per id")
    g.add_argument("--contour", help="a mask (same shape) drawn as contour lines")
    g.add_argument("--levels", help="contour levels, e.g. 0.5,0.8 (default: 0.5)")
    g.add_argument("--max-size", type=int, help="largest side in pixels (default: 1024)")
    g.add_argument("--plane", type=int, help="3-D stacks: plane shown (default: middle)")
    h = p.add_argument_group("histogram")
    h.add_argument("--histogram", action="store_true", help="draw the histogram instead")
    h.add_argument("--bins", type=int, help="number of bins (default: 256)")
    h.add_argument("--threshold", type=float, nargs="+", action="extend", help="mark values")
    h.add_argument("--log", action="store_true", help="logarithmic counts")
    p.add_argument("--title")
    p.add_argument("--overwrite", action="store_true", help="replace an existing picture")
    p.set_defaults(func=_cmd_preview)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
