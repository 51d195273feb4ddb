"""Static Spaces: the folder the control plane serves, after ``app_build_command`` when there is one.

Owns where a static build happens on the control plane's disk (``<commit>.build`` beside the exported
commit), running the build command on the host (process runtime; Node.js from the host), checking that
the entry page exists afterwards, and the ``static`` artifact whose reference is the entry page's path
(the folder served is its folder). The container runtime runs the command in a builder container instead
(``static_image.py``) and copies the output folder back here.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from builders.base import BuildPlan
from builders.static import NPM_FILES, NPM_INSTALL
from orchestrator.building.errors import BuildError
from orchestrator.building.process_output import run_logged
from orchestrator.logs import LogWriter
from orchestrator.runtimes.base import Artifact


def build_dir(app_dir: Path) -> Path:
    """Where a static Space's build runs and its output stays: beside the exported commit."""
    return app_dir.with_name(app_dir.name + ".build")


def static_artifact(plan: BuildPlan, root: Path, app_dir: Path) -> Artifact:
    """The artifact serving ``root/static_dir``; ``BuildError`` if the entry page is not there."""
    folder = (root / plan.static_dir).resolve()
    page = folder / plan.static_index
    if not folder.is_relative_to(root.resolve()) or not page.is_file():
        after = f" after `{plan.build_command}`" if plan.build_command else ""
        raise BuildError(
            f"{plan.app_file} does not exist{after}. app_file must name the page the build writes "
            "(for example dist/index.html when the build writes to dist/)."
        )
    return Artifact(
        kind="static", reference=str(page), deps_reference="", deps_key=plan.deps_key, app_dir=str(app_dir)
    )


async def build_on_host(plan: BuildPlan, app_dir: Path, log: LogWriter) -> Artifact:
    """Serve the commit's files, or run ``app_build_command`` with the host's Node.js and serve its output."""
    if plan.build_command is None:
        return static_artifact(plan, app_dir, app_dir)
    if shutil.which("npm") is None:
        raise BuildError(
            "app_build_command needs Node.js and npm on this server (scripts/install.sh installs them)."
        )
    work = build_dir(app_dir)
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(app_dir, work, ignore=shutil.ignore_patterns(".git"))
    env = {"npm_config_update_notifier": "false", "npm_config_fund": "false"}
    if (work / "package.json").is_file():
        modules = await installed_packages(plan, app_dir, log, env)
        if (work / "node_modules").exists():
            log.write("The repo's node_modules/ is left out: packages come from package.json")
            shutil.rmtree(work / "node_modules", ignore_errors=True)
        (work / "node_modules").symlink_to(modules, target_is_directory=True)
    log.write(f"Running app_build_command: {plan.build_command}")
    await run_logged(["sh", "-c", plan.build_command], log=log, env=env, cwd=work, what="app_build_command")
    return static_artifact(plan, work, app_dir)


async def installed_packages(plan: BuildPlan, app_dir: Path, log: LogWriter, env: dict[str, str]) -> Path:
    """The ``node_modules`` of the commit's npm files, installed once per ``deps_key`` beside the commits.

    The folder is installed under a temporary name and renamed when npm succeeds, so one that exists is
    complete; builds link to it, so tool caches the build writes there stay for the next build.
    """
    done = app_dir.with_name(f"npm-{plan.deps_key[:16]}")
    present = [name for name in NPM_FILES if (app_dir / name).is_file()]
    if (done / "node_modules").is_dir():
        log.write(f"Dependencies unchanged ({', '.join(present)}): reusing {done.name}/node_modules")
        return done / "node_modules"
    staging = done.with_name(f".{done.name}-{uuid.uuid4().hex[:8]}")
    staging.mkdir(parents=True)
    try:
        for name in present:
            shutil.copy2(app_dir / name, staging / name)
        log.write("Installing the packages of package.json")
        await run_logged(["sh", "-c", NPM_INSTALL], log=log, env=env, cwd=staging, what="npm install")
        (staging / "node_modules").mkdir(exist_ok=True)  # a package.json without dependencies
        if not (done / "node_modules").is_dir():  # else another build of this Space finished first
            shutil.rmtree(done, ignore_errors=True)
            staging.rename(done)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return done / "node_modules"
