"""Turn an event name and its stored context into message text.

Templates live in ``notifications/templates/notifications/<event>/``: ``subject.txt``,
``body.txt``, ``body.html`` and (for events with SMS) ``sms.txt``. Every template also sees
``shop_name``, ``support_email`` and ``site_url`` from settings.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def _template_context(context: dict[str, Any]) -> dict[str, Any]:
    return {
        **context,
        "shop_name": settings.SHOP_NAME,
        "support_email": settings.SHOP_SUPPORT_EMAIL,
        "site_url": settings.SITE_URL,
    }


def _render(event: str, part: str, context: dict[str, Any]) -> str:
    return render_to_string(f"notifications/{event}/{part}", _template_context(context))


def _tidy(text: str) -> str:
    """Strip trailing spaces and collapse the blank runs template tags leave behind."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line or (tidy and tidy[-1]):
            tidy.append(line)
    return "\n".join(tidy) + "\n"


def render_email(event: str, context: dict[str, Any]) -> RenderedEmail:
    subject = " ".join(_render(event, "subject.txt", context).split())
    return RenderedEmail(
        subject=subject,
        text=_tidy(_render(event, "body.txt", context)),
        html=_tidy(_render(event, "body.html", context)),
    )


def render_sms(event: str, context: dict[str, Any]) -> str:
    return " ".join(_render(event, "sms.txt", context).split())
