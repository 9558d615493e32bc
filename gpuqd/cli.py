"""Command-line interface ``gpuqd``: run, validate, plot, info (the run layer does the work: :mod:`gpuqd.run`).

    gpuqd run CONFIG [--backend B] [--resume] [--force] [--set key.path=value ...] [--runs-dir DIR]
              [--threads N] [--scheduler ADDRESS] [--workers N]
    gpuqd validate CONFIG [--set ...] [--runs-dir DIR]
    gpuqd plot RUN_DIR
    gpuqd info

Invalid input (configuration, run-directory conflicts) ends with exit status 2 and a one-line
message on stderr, before any computation; an interrupted run can be continued with --resume.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

from gpuqd.run.config.schema import BACKENDS
from gpuqd.version import __version__

EXIT_BAD_INPUT = 2
EXIT_RUNTIME = 1
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


def _fail(msg: str, code: int = EXIT_BAD_INPUT) -> int:
    msg = " ".join(str(msg).split())
    print(f"gpuqd: error: {msg}", file=sys.stderr)
    return code


def _execution_overrides(args) -> list[str]:
    """--scheduler / --workers / --threads as overrides of the execution section (the first two imply
    engine: dask)."""
    out = []
    if getattr(args, "scheduler", None) is not None:
        out += ["execution.engine=dask", f"execution.scheduler={args.scheduler}"]
    if getattr(args, "workers", None) is not None:
        out += ["execution.engine=dask", f"execution.workers={args.workers}"]
    if getattr(args, "threads", None) is not None:
        out.append(f"execution.threads={args.threads}")
    return out


def _load(args):
    from gpuqd.run.config.validate import load_config

    cfg = load_config(
        args.config,
        overrides=list(args.set) + _execution_overrides(args),
        runs_dir=args.runs_dir,
        backend=getattr(args, "backend", None),
    )
    for w in cfg.warnings:
        print(f"gpuqd: warning: {w}", file=sys.stderr)
    return cfg


def cmd_validate(args) -> int:
    from gpuqd.run.config.validate import check_time_step
    from gpuqd.run.costs.estimate import estimate_run, memory_estimate
    from gpuqd.run.costs.model import check_memory
    from gpuqd.run.execute.device import resolve_backend

    cfg = _load(args)
    backend = resolve_backend(cfg.backend)
    check_memory(memory_estimate(cfg, backend), args.allow_large)
    check_time_step(cfg)
    print(f"{args.config}: OK (run directory {cfg.run_dir}, outputs: {', '.join(cfg.data['outputs'])})")
    print("estimate (`gpuqd run` prints it again):")
    print("\n".join(estimate_run(cfg, backend).lines()))
    if args.show:
        print(cfg.to_yaml(), end="")
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return value


def _draw_figures(run_dir: Path, rep) -> list[Path]:  # noqa: ANN001 - a Reporter
    """The figures of a finished run directory (:func:`gpuqd.plots.make_figures`), each announced."""
    from gpuqd.plots import make_figures

    written, skipped = make_figures(run_dir)
    for s in skipped:
        rep.message(s)
    for p in written:
        rep.message(f"figure: {p}")
    return written


def cmd_run(args) -> int:
    from gpuqd.run.errors import ConfigError
    from gpuqd.run.execute.progress import RichReporter
    from gpuqd.run.pipeline import run_pipeline
    from gpuqd.run.store.rundir import RunDir

    if args.resume and args.force:
        raise ConfigError("--resume and --force contradict each other (continue the run, or start it over); give one")

    cfg = _load(args)
    rep = RichReporter(quiet=args.quiet)
    t0 = time.perf_counter()
    finished_before = not args.force and RunDir(cfg.run_dir).status == "finished"  # nothing new to draw
    path = run_pipeline(
        cfg,
        resume=args.resume,
        force=args.force,
        reporter=rep,
        make_figures=not args.no_figures,
        argv=args.argv,
        allow_large=args.allow_large,
    )
    if not args.no_figures and not finished_before:
        t_fig = time.perf_counter()
        _draw_figures(path, rep)
        RunDir(path).add_stage_time("figures", time.perf_counter() - t_fig)
    rep.message(f"run '{cfg.name}' finished in {time.perf_counter() - t0:.1f} s: {path}")
    print(path)
    return 0


def cmd_plot(args) -> int:
    from gpuqd.plots import make_figures
    from gpuqd.run.execute.progress import RichReporter
    from gpuqd.run.store.rundir import RunDir

    rd = RunDir(args.run_dir)
    if not rd.results_path.exists() and not rd.results_nc_path.exists():
        return _fail(f"{args.run_dir}: no results.npz and no results.nc (not a finished gpuqd run directory)")
    rep = RichReporter()
    width = args.width
    if width is not None and width not in ("double", "single"):
        try:
            width = float(width)
        except ValueError:
            pass  # named in the validation message
    written, skipped = make_figures(rd.path, width=width, style=args.style)
    for s in skipped:
        rep.message(s)
    for p in written:
        print(p)
    return 0


def cmd_info(args) -> int:
    import numpy as np

    lines = [f"gpuqd {__version__}", f"python {sys.version.split()[0]}", f"numpy {np.__version__}"]
    try:
        import scipy

        lines.append(f"scipy {scipy.__version__}")
    except ImportError:
        lines.append("scipy: not installed")
    try:
        import matplotlib

        lines.append(f"matplotlib {matplotlib.__version__} (figures enabled)")
    except ImportError:
        lines.append("matplotlib: not installed (figures skipped; pip install -e '.[plot]')")
    lines.append(f"CPU cores: {os.cpu_count()}")
    from gpuqd.dynamics.engines import registry as backends

    for name in backends.BACKENDS:
        d = backends.describe(name)
        text = d.get("description") if d["available"] else f"unavailable: {d.get('reason')}"
        extra = f" (compiler {d['compiler']}, {d['threads']} threads)" if name == "cpu" and d["available"] else ""
        lines.append(f"backend {name}: {text}{extra}")
    lines.append(f"backends available: {', '.join(backends.available_backends())}")
    try:
        auto, _ = backends.resolve("auto")
        lines.append(f"backend auto → {auto}")
    except backends.BackendUnavailable as exc:  # pragma: no cover - numpy is always usable
        lines.append(f"backend auto: {exc}")
    print("\n".join(lines))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gpuqd",
        description="Quantum-dot spin-valve switching: transport + "
        "stochastic macrospin dynamics; reproduces Gergs et al., PRL 120, 017701.",
    )
    p.add_argument("--version", action="version", version=f"gpuqd {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="{run,validate,plot,info}")

    def common(sp):
        sp.add_argument("config", help="YAML configuration file")
        sp.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="KEY.PATH=VALUE",
            help="override a configuration key (value parsed as YAML); repeatable",
        )
        sp.add_argument("--runs-dir", default=None, help="parent directory of run directories (default: runs)")
        sp.add_argument(
            "--allow-large", action="store_true", help="run even if the memory estimate exceeds the available memory"
        )

    r = sub.add_parser("run", help="run a configuration into <runs-dir>/<name>/")
    common(r)
    r.add_argument("--backend", choices=list(BACKENDS), default=None, help="override 'backend'")
    r.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        metavar="N",
        help="OpenMP threads of the cpu backend: sets execution.threads (default: OMP_NUM_THREADS, else "
        "all usable cores); results do not depend on it",
    )
    r.add_argument("--resume", action="store_true", help="continue an interrupted run")
    r.add_argument("--force", action="store_true", help="overwrite an existing run directory")
    r.add_argument("--no-figures", action="store_true", help="skip the figures (gpuqd plot makes them later)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    r.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run the work units on an existing Dask scheduler (e.g. tcp://host:8786); implies execution.engine=dask",
    )
    r.add_argument(
        "--workers",
        default=None,
        metavar="N",
        help="run on a local Dask cluster of N worker processes on 127.0.0.1; implies execution.engine=dask",
    )
    r.set_defaults(func=cmd_run)

    v = sub.add_parser("validate", help="check a configuration without computing anything")
    common(v)
    v.add_argument("--show", action="store_true", help="print the resolved configuration")
    v.set_defaults(func=cmd_validate)

    pl = sub.add_parser("plot", help="(re)draw the figures of a finished run directory")
    pl.add_argument("run_dir")
    pl.add_argument(
        "--width",
        metavar="W",
        help="figure width: double (7.0 in), single (3.4 in) or inches (overrides the run's figures.width)",
    )
    pl.add_argument("--style", metavar="S", help="font family: sans | serif (overrides figures.style)")
    pl.set_defaults(func=cmd_plot)

    i = sub.add_parser("info", help="version, available backends, GPU")
    i.set_defaults(func=cmd_info)
    return p


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """Physics/numerics warnings as one line on stderr (no source location)."""
    print(f"gpuqd: warning: {message}", file=sys.stderr)


def _os_error(exc: OSError) -> str:
    """One line for an OSError that reached the command line (disk full, a file that vanished, ...)."""
    from gpuqd.run.store.file_errors import oserror_text

    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{oserror_text(exc)}" if exc.strerror else str(exc)


def main(argv: list[str] | None = None) -> int:
    from gpuqd.interrupts import exit_status, handle_signals
    from gpuqd.run.config.yaml_input import command_line
    from gpuqd.run.errors import ConfigError, RunError

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv
    warnings.simplefilter("ignore", RuntimeWarning)
    warnings.showwarning = _show_warning
    try:
        with handle_signals():
            return args.func(args)
    except (ConfigError, RunError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt as exc:  # SIGINT or SIGTERM (gpuqd.interrupts): a checkpoint is written
        name = "SIGTERM" if exit_status(exc) == EXIT_TERMINATED else "interrupted"
        again = command_line(argv, add=["--resume"], drop=["--force"]) if args.command == "run" else ""
        text = f"{name}; work up to the last step is saved; continue with `{again}`" if again else name
        return _fail(text, exit_status(exc))
    except OSError as exc:  # disk full, permissions, ...: the run is marked stopped, --resume continues it
        again = command_line(argv, add=["--resume"], drop=["--force"]) if args.command == "run" else ""
        hint = f"; fix it, then continue with `{again}`" if again else ""
        return _fail(f"{_os_error(exc)}{hint}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
