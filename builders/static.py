"""The static SDK: ``sdk: static`` Spaces, the repo's files served as they are, no process at all.

Owns finding the entry page (``app_file``, default ``index.html``) and the folder to serve, and the
optional ``app_build_command`` (``npm run build``) that runs at build time with Node.js; its output
folder is the folder of ``app_file`` (``dist/index.html`` serves ``dist/``). Its packages (``npm ci``, or
``npm install`` without a lock file) depend on ``NPM_FILES`` only, so ``deps_key`` names those files: a push
that changes other files reuses the installed ``node_modules``.
"""

from __future__ import annotations

import hashlib
import posixpath

from builders.base import DEFAULT_STARTUP_TIMEOUT, Builder, BuildOptions, BuildPlan
from builders.config import DEFAULT_APP_FILE, SpaceConfig
from builders.errors import NoAppFileError
from builders.files import RepoFiles
from builders.inputs import PACKAGES, PRE_REQUIREMENTS, REQUIREMENTS

DEFAULT_INDEX = "index.html"
NPM_FILES = ("package.json", "package-lock.json", ".npmrc")
"""The files ``npm ci``/``npm install`` reads; the dependency layer is keyed by their content."""
NPM_INSTALL = (
    "if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi"
)
_SHOWN_HTML_FILES = 20


def static_app_file(config: SpaceConfig) -> str:
    """``app_file`` as written, or ``index.html`` when the README does not set it."""
    return config.app_file if config.line_of("app_file") is not None else DEFAULT_INDEX


class StaticBuilder(Builder):
    sdk = "static"

    def detect(self, files: RepoFiles, app_file: str = DEFAULT_APP_FILE) -> bool:
        return files.exists(DEFAULT_INDEX) or (app_file.endswith(".html") and files.exists(app_file))

    def plan(self, config: SpaceConfig, files: RepoFiles, *, options: BuildOptions) -> BuildPlan:
        app_file = static_app_file(config)
        raw_command = config.extra.get("app_build_command")
        build_command = raw_command.strip() if isinstance(raw_command, str) and raw_command.strip() else None
        static_dir = posixpath.dirname(app_file)
        notes: list[str] = []
        if build_command is None:
            _require_page(config, files, app_file)
            notes.append(f"serving the repo's files as they are; entry page {app_file}")
        else:
            notes.append(f"app_build_command: {build_command} (run with Node.js at build time)")
            where = f"{static_dir}/" if static_dir else "the repo's root"
            notes.append(f"serving {where} after the build; entry page {app_file}")
        for name in (REQUIREMENTS, PRE_REQUIREMENTS, PACKAGES):
            if files.exists(name):
                notes.append(f"{name} is ignored: a static Space runs no Python and installs no packages")
        for key in ("sdk_version", "python_version", "app_port"):
            if config.line_of(key) is not None:
                notes.append(f"{key} is ignored for a static Space")
        base_image = options.node_image() if build_command else ""
        key_source = "\0".join(
            ["static", base_image, NPM_INSTALL, *(f"{name}\0{files.read_text(name)}" for name in NPM_FILES)]
        )
        return BuildPlan(
            sdk=self.sdk,
            sdk_version="",
            python_version="",
            base_image=base_image,
            sdk_base_recipe=None,
            requirements=None,
            pre_requirements=None,
            apt_packages=(),
            app_file=app_file,
            port=0,
            env={},
            preload=(),
            deps_key=hashlib.sha256(key_source.encode()).hexdigest(),
            notes=tuple(notes),
            startup_timeout=config.startup_duration_timeout or DEFAULT_STARTUP_TIMEOUT,
            config=config,
            kind="static",
            build_command=build_command,
            static_dir=static_dir,
            static_index=posixpath.basename(app_file),
        )


def render_npm_install(base_image: str, present: tuple[str, ...]) -> str:
    """A Containerfile: ``base_image`` with the packages of ``present`` (a subset of ``NPM_FILES`` that
    includes package.json) installed in ``/app/node_modules``; npm's download cache is shared by builds."""
    if "package.json" not in present or not set(present) <= set(NPM_FILES):
        raise ValueError(f"render_npm_install needs package.json among {NPM_FILES}, got {present}")
    return (
        f"# Static Space dependencies: {', '.join(present)}\n"
        f"FROM {base_image}\n"
        "WORKDIR /app\n"
        f"COPY {' '.join(present)} ./\n"
        f"RUN --mount=type=cache,target=/root/.npm {NPM_INSTALL}\n"
    )


def _require_page(config: SpaceConfig, files: RepoFiles, app_file: str) -> None:
    if files.exists(app_file):
        return
    line = config.line_of("app_file")
    why = "app_file" if line is not None else "app_file is not set, so the default"
    pages = [path for path in files.paths() if path.endswith((".html", ".htm"))]
    present = (
        "the repo has no .html files"
        if not pages
        else "HTML files in the repo: " + ", ".join(pages[:_SHOWN_HTML_FILES])
    )
    raise NoAppFileError(
        f"{why} {app_file!r} was not found; {present}. Add it, set app_file in README.md to the page "
        "to serve, or set app_build_command to the command that generates it",
        line=line,
    )
