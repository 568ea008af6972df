"""Response renderers of the API (REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"])."""

from collections.abc import Mapping
from typing import Any, cast

from rest_framework import renderers


class _AsciiJSONRenderer(renderers.JSONRenderer):
    ensure_ascii = True


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON renderer, still answering when the data holds a lone surrogate.

    A validation error may echo the client's own input back ("\\ud800" is not a valid
    choice); a lone surrogate cannot be encoded as UTF-8, so DRF's renderer raised and the
    answer became a 500. Such a body is written with \\u escapes instead, which JSON allows.
    """

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        try:
            rendered = super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            rendered = _AsciiJSONRenderer().render(data, accepted_media_type, renderer_context)
        return cast(bytes, rendered)
