"""Config-driven jobs: ``bigimg run job.yaml``.

:func:`load` checks a job file (every problem at once, before any work),
:func:`plan` decides which steps fuse and what is stored, :func:`run`
executes it with progress, resuming an interrupted run.
"""

from bigimg.pipeline.config import ConfigError, Job, load, loads
from bigimg.pipeline.plan import Plan, plan
from bigimg.pipeline.run import Summary, run

__all__ = ["ConfigError", "Job", "Plan", "Summary", "load", "loads", "plan", "run"]
