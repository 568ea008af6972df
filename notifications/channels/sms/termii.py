"""Termii: POST /api/sms/send with a JSON body (numbers without the leading '+')."""

import requests

from notifications.channels.base import SendResult, TransientDeliveryError
from notifications.channels.sms.base import json_body, post


class TermiiProvider:
    name = "termii"

    def __init__(self, *, api_key: str, sender_id: str, base_url: str):
        self.api_key = api_key
        self.sender_id = sender_id
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def send(self, *, to: str, body: str) -> SendResult:
        response = post(
            self.session,
            f"{self.base_url}/api/sms/send",
            json={
                "api_key": self.api_key,
                "to": to.removeprefix("+"),
                "from": self.sender_id,
                "sms": body,
                "type": "plain",
                "channel": "generic",
            },
        )
        message_id = json_body(response).get("message_id")
        if not message_id:
            raise TransientDeliveryError("Termii answered without a message_id")
        return SendResult(provider_message_id=str(message_id))
