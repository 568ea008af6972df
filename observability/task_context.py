"""Which Celery task the current code runs in, for log lines (set by celery_signals)."""

from contextvars import ContextVar, Token

_task: ContextVar[tuple[str, str] | None] = ContextVar("celery_task", default=None)


def get_task_context() -> tuple[str, str] | None:
    """(task id, task name) inside a task, else None."""
    return _task.get()


def set_task_context(task_id: str, task_name: str) -> Token:
    return _task.set((task_id, task_name))


def reset_task_context(token: Token) -> None:
    _task.reset(token)
