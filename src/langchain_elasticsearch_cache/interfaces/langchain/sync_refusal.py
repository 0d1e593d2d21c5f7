"""The error an asynchronous-only cache raises from a synchronous method.

LangChain calls ``lookup``/``update`` from ``model.invoke()`` on its own, so the user who
meets the error never called them: the message names the class that serves both.
"""

from __future__ import annotations

__all__ = ["sync_call_refused"]

_PACKAGE = __name__.split(".", 1)[0]


def _synchronous_twin(cls: type) -> str | None:
    """``ElasticsearchSemanticCache`` for ``AsyncElasticsearchSemanticCache`` (or for a
    user subclass of it): the nearest library class named ``Async...``, minus ``Async``."""
    for klass in cls.__mro__:
        if klass.__module__.split(".", 1)[0] == _PACKAGE and klass.__name__.startswith("Async"):
            return klass.__name__[len("Async") :]
    return None


def sync_call_refused(instance: object, method: str) -> NotImplementedError:
    """``NotImplementedError`` for ``instance.method()`` saying what to use instead."""
    name = type(instance).__name__
    twin = _synchronous_twin(type(instance))
    instead = (
        f"use {twin}, which serves invoke and ainvoke alike"
        if twin
        else "use the synchronous class of this cache, which serves invoke and ainvoke alike"
    )
    if method in ("lookup", "update"):
        return NotImplementedError(
            f"{name} is asynchronous; model.invoke() (and stream, batch) calls the "
            f"synchronous {method}(): {instead}, or call ainvoke (which awaits a{method}())"
        )
    return NotImplementedError(
        f"{name} is asynchronous and {method}() is synchronous: await a{method}(), or {instead}"
    )
