"""Space repositories: bare git repositories on disk (``repos``) and git over smart HTTP (``smart_http``)."""

from orchestrator.gitserver.repos import CommitInfo, RepoStore
from orchestrator.gitserver.smart_http import Authorize, Decision, GitRequest, OnPush, make_git_router

__all__ = ["Authorize", "CommitInfo", "Decision", "GitRequest", "OnPush", "RepoStore", "make_git_router"]
