"""Start a Space's app inside the Space's own Python: at once, or from a warm standby.

Standalone and stdlib only: this file runs under the Space's interpreter, which does not have the
orchestrator installed. Runtimes execute it by path (processes) or copy it into the container.

    python launcher.py run APP_FILE [--exit-file PATH] [--instance ID]
    python launcher.py module [--exit-file PATH] [--instance ID] MODULE [ARG...]
    python launcher.py standby START_FILE [--preload gradio,numpy] [--parent PID] [--exit-file PATH]
                                          [--instance ID]

``module`` runs a module's command line as ``python -m MODULE ARG...`` would (``streamlit run app.py``).
``standby`` imports the preload modules first (a missing one is noted on stderr and skipped), then
waits for START_FILE: JSON ``{"app_dir", "app_file", "env", "unset"}`` and optionally ``"module"``
and ``"argv"``, written atomically by the runtime. It applies the environment, changes to the app
folder and runs the app (or the module, with ``argv``) as ``__main__``. A spare (a standby started
before any Space claimed it) is given ``"spare": true`` and, under the process runtime, ``"log_file"``
and ``"exit_file"``: from then on its output goes to the Space's log and its exit status to the
Space's exit file.
A standby given ``--parent`` leaves when that process (the control plane) is gone: nobody would
ever hand it an app.

The app behaves as under ``python app.py``: same ``sys.argv``, ``sys.path[0]`` and working folder, a
traceback and exit status 1 on an uncaught exception. ``--exit-file`` receives the exit status so a
restarted control plane can read it; ``--instance`` only marks the command line for the runtime.
This module must not import anything beyond the standard library.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import runpy
import sys
import time
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any

POLL_SECONDS = 0.02
UNREADABLE_SECONDS = 30.0


def _note(message: str) -> None:
    print(f"[spaces-launcher] {message}", file=sys.stderr, flush=True)


def _own_dir_off_path() -> None:
    """Keep this file's folder off ``sys.path`` so its neighbours never shadow app or SDK modules."""
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        del sys.path[0]


def preload(modules: list[str]) -> float:
    """Import ``modules``; return the seconds it took."""
    started = time.monotonic()
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as error:
            _note(f"preload: cannot import {name!r} ({error}); continuing without it")
        except Exception as error:
            _note(f"preload: importing {name!r} failed ({type(error).__name__}: {error}); continuing")
    if modules:
        _note(f"preloaded {', '.join(modules)} in {time.monotonic() - started:.1f}s; waiting for the app")
    return time.monotonic() - started


def _imported(modules: list[str], seconds: float, imported_at: float, requested_at: object) -> str:
    """`` with gradio imported in 3.1s (0.4s of it after the request)``: what a spare saved."""
    if not modules:
        return ""
    late = imported_at - float(requested_at) if isinstance(requested_at, (int, float)) else 0.0
    after = f" ({min(late, seconds):.1f}s of it after the request)" if late > 0 else ""
    return f" with {', '.join(modules)} imported in {seconds:.1f}s{after}"


def wait_for_start(start_file: str, parent: int | None = None) -> dict[str, Any]:
    """Poll for the start file; exit once ``parent`` (the control plane) is no longer the parent."""
    unreadable_since: float | None = None
    while True:
        try:
            with open(start_file, encoding="utf-8") as handle:
                request: dict[str, Any] = json.load(handle)
            return request
        except FileNotFoundError:
            pass
        except (PermissionError, ValueError):
            # A tar extraction writes the file in place, then sets its owner and mode: read it again.
            unreadable_since = unreadable_since or time.monotonic()
            if time.monotonic() - unreadable_since > UNREADABLE_SECONDS:
                raise
        if parent is not None and os.getppid() != parent:
            _note("the control plane that started this standby is gone; exiting")
            raise SystemExit(0)
        time.sleep(POLL_SECONDS)


def apply_start(request: dict[str, Any]) -> str:
    """Apply a start request to this interpreter; return the absolute path of the app file."""
    for name in request.get("unset", []):
        os.environ.pop(str(name), None)
    for name, value in dict(request.get("env", {})).items():
        os.environ[str(name)] = str(value)
    app_dir = os.path.abspath(str(request["app_dir"]))
    os.chdir(app_dir)
    return os.path.join(app_dir, str(request["app_file"]))


def redirect_output(path: str) -> None:
    """Send this process's stdout and stderr (and its future children's) to ``path``, appending."""
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _app_frames(tb: TracebackType | None, app_file: str) -> TracebackType | None:
    """Drop the launcher's and runpy's frames so the traceback reads like ``python app.py``'s."""
    cursor = tb
    while cursor is not None:
        if os.path.abspath(cursor.tb_frame.f_code.co_filename) == app_file:
            return cursor
        cursor = cursor.tb_next
    return tb


def run_app(app_file: str) -> int:
    """Run ``app_file`` as ``__main__``; return its exit status."""
    app_file = os.path.abspath(app_file)
    sys.argv = [app_file]
    # The launcher's own entry was removed at start; the app's folder takes its place, as under python.
    sys.path.insert(0, os.path.dirname(app_file))
    return _as_main(lambda: runpy.run_path(app_file, run_name="__main__"), app_file)


def run_module(module: str, argv: list[str]) -> int:
    """Run ``module`` as ``python -m module *argv`` would, in this interpreter; return its exit status."""
    sys.argv = [module, *argv]
    # ``python -m`` puts the working folder (the app's) first on the path.
    sys.path.insert(0, os.getcwd())
    return _as_main(lambda: runpy.run_module(module, run_name="__main__", alter_sys=True), "")


def _as_main(run: Callable[[], object], app_file: str) -> int:
    """Call ``run`` the way the interpreter runs ``__main__``: exit status, traceback on an error."""
    try:
        run()
    except SystemExit as stop:
        code = stop.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        traceback.print_exc()
        return 130
    except BaseException as error:
        traceback.print_exception(type(error), error, _app_frames(error.__traceback__, app_file))
        return 1
    return 0


def _write_exit_file(path: str | None, code: int) -> None:
    if not path:
        return
    try:
        temporary = f"{path}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(f"{code}\n")
        os.replace(temporary, path)
    except OSError as error:
        _note(f"cannot write the exit file {path}: {error}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="launcher.py", description="Start a Space's app.")
    modes = parser.add_subparsers(dest="mode", required=True)
    run = modes.add_parser("run", help="run the app at once")
    run.add_argument("app_file")
    module = modes.add_parser("module", help="run a module's command line at once")
    standby = modes.add_parser("standby", help="preload modules, then wait for a start file")
    standby.add_argument("start_file")
    standby.add_argument("--preload", default="", help="comma-separated modules to import first")
    standby.add_argument("--parent", type=int, default=None, help="exit while waiting if this pid dies")
    for mode in (run, module, standby):
        mode.add_argument("--exit-file", default=None)
        mode.add_argument("--instance", default=None)
    module.add_argument("module")
    module.add_argument("argv", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    _own_dir_off_path()
    exit_file: str | None = args.exit_file
    if args.mode == "run":
        sys.stdout.flush()
        code = run_app(args.app_file)
    elif args.mode == "module":
        sys.stdout.flush()
        code = run_module(args.module, list(args.argv))
    else:
        modules = [name.strip() for name in args.preload.split(",") if name.strip()]
        seconds = preload(modules)
        imported_at = time.time()
        request = wait_for_start(args.start_file, args.parent)
        if request.get("log_file"):
            redirect_output(str(request["log_file"]))
        if request.get("spare"):
            _note(
                f"woken from a spare{_imported(modules, seconds, imported_at, request.get('requested_at'))}"
            )
        exit_file = str(request.get("exit_file") or "") or exit_file
        app_file = apply_start(request)
        sys.stdout.flush()
        if request.get("module"):
            code = run_module(str(request["module"]), [str(arg) for arg in request.get("argv", [])])
        else:
            code = run_app(app_file)
    _write_exit_file(exit_file, code)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
