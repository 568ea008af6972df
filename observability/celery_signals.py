"""Celery hooks: the request id travels with a task; task outcomes are counted.

What a task counted in shared metrics is sent to Redis when it ends, so it shows on the next
scrape and is not lost when a pool process exits (``observability.shared_counters``).

Publishing adds the current request id to the message headers; the worker sets it in the
contextvar for the task's run (a task queued outside any request gets a fresh id), so the log
lines of a task carry the id of the request that queued it. Imported by ``config.celery``.
"""

from contextvars import Token

from celery.signals import (
    before_task_publish,
    task_failure,
    task_postrun,
    task_prerun,
    task_retry,
    task_success,
)

from observability import shared_counters
from observability.request_id import (
    clean_request_id,
    get_request_id,
    new_request_id,
    reset_request_id,
    set_request_id,
)
from observability.task_context import reset_task_context, set_task_context
from observability.task_metrics import record_task_outcome

REQUEST_ID_TASK_HEADER = "request_id"
_active: dict[str, tuple[Token, Token]] = {}


@before_task_publish.connect(dispatch_uid="observability.add_request_id")
def add_request_id_header(headers: dict | None = None, **kwargs) -> None:
    request_id = get_request_id()
    if request_id and headers is not None:
        headers.setdefault(REQUEST_ID_TASK_HEADER, request_id)


@task_prerun.connect(dispatch_uid="observability.enter_task")
def enter_task(task_id: str | None = None, task=None, **kwargs) -> None:
    if task_id is None or task is None:
        return
    from_header = clean_request_id(getattr(task.request, REQUEST_ID_TASK_HEADER, None))
    # Run inline (eager) inside a request, the request's id is already set: keep it.
    request_id = from_header or get_request_id() or new_request_id()
    _active[task_id] = (set_request_id(request_id), set_task_context(task_id, task.name))


@task_postrun.connect(dispatch_uid="observability.leave_task")
def leave_task(task_id: str | None = None, **kwargs) -> None:
    shared_counters.flush()
    tokens = _active.pop(task_id, None) if task_id else None
    if tokens is not None:
        request_token, task_token = tokens
        reset_task_context(task_token)
        reset_request_id(request_token)


@task_success.connect(dispatch_uid="observability.count_success")
def count_success(sender=None, **kwargs) -> None:
    record_task_outcome(getattr(sender, "name", "unknown"), "success")


@task_failure.connect(dispatch_uid="observability.count_failure")
def count_failure(sender=None, **kwargs) -> None:
    record_task_outcome(getattr(sender, "name", "unknown"), "failure")


@task_retry.connect(dispatch_uid="observability.count_retry")
def count_retry(sender=None, **kwargs) -> None:
    record_task_outcome(getattr(sender, "name", "unknown"), "retry")
