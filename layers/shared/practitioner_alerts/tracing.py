"""Powertools' Tracer, built at the first invocation instead of when the handler module loads.

``Tracer()`` imports the X-Ray SDK, whose module-level recorder is built on import (outside Lambda
its sampler creates a botocore session and an X-Ray client, ~100 ms), and with ``auto_patch``
patches botocore, requests, httplib and the like. None of that is needed to import a handler.

The handlers decorate with ``tracer.capture_lambda_handler`` exactly as with Powertools' Tracer;
the real one is built on the first call, *before* the handler body runs, so:

- botocore is still patched before the first AWS client is built or called (the handlers build
  theirs inside the handler, through their ``functools.cache`` builders);
- the ``ColdStart`` annotation is still true for the first invocation only (Powertools keeps that
  flag in its tracer module, whenever the Tracer was built);
- ``capture_response`` / ``capture_error`` and the ``POWERTOOLS_TRACER_CAPTURE_*`` and
  ``POWERTOOLS_TRACE_DISABLED`` variables mean what they mean to Powertools (they are read when
  the real Tracer is built, i.e. in the same execution environment, with the same variables).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

Handler = TypeVar("Handler", bound=Callable[..., Any])


class LazyTracer:
    """Stands in for ``aws_lambda_powertools.Tracer`` at module level; takes the same options."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._tracer: Tracer | None = None
        self._lock = threading.Lock()

    @property
    def tracer(self) -> Tracer:
        """The real Tracer, built (and botocore patched) on first use."""
        if self._tracer is None:
            with self._lock:
                if self._tracer is None:
                    # Lazy on purpose: see the module docstring.
                    from aws_lambda_powertools import Tracer  # noqa: PLC0415

                    self._tracer = Tracer(**self._options)
        return self._tracer

    @overload
    def capture_lambda_handler(self, lambda_handler: Handler) -> Handler: ...

    @overload
    def capture_lambda_handler(
        self,
        lambda_handler: None = None,
        *,
        capture_response: bool | None = None,
        capture_error: bool | None = None,
    ) -> Callable[[Handler], Handler]: ...

    def capture_lambda_handler(
        self,
        lambda_handler: Handler | None = None,
        *,
        capture_response: bool | None = None,
        capture_error: bool | None = None,
    ) -> Handler | Callable[[Handler], Handler]:
        """``Tracer.capture_lambda_handler``, applied at the first call."""
        if lambda_handler is None:
            return functools.partial(
                self.capture_lambda_handler, capture_response=capture_response, capture_error=capture_error
            )
        wrapped = lambda_handler
        traced: Callable[..., Any] | None = None

        @functools.wraps(wrapped)
        def handler(event: Any, context: Any, **kwargs: Any) -> Any:
            nonlocal traced
            if traced is None:
                traced = self.tracer.capture_lambda_handler(
                    wrapped, capture_response=capture_response, capture_error=capture_error
                )
            return traced(event, context, **kwargs)

        return cast("Handler", handler)

    def __getattr__(self, name: str) -> Any:
        # put_annotation, put_metadata, capture_method, provider...: the real Tracer's.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.tracer, name)
