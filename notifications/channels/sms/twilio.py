"""Twilio Programmable Messaging: POST /2010-04-01/Accounts/{sid}/Messages.json."""

import requests

from notifications.channels.base import SendResult, TransientDeliveryError
from notifications.channels.sms.base import json_body, post


class TwilioProvider:
    name = "twilio"

    def __init__(self, *, account_sid: str, auth_token: str, from_number: str, base_url: str):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_number = from_number
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def send(self, *, to: str, body: str) -> SendResult:
        url = f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        response = post(
            self.session,
            url,
            auth=(self.account_sid, self.auth_token),
            data={"To": to, "From": self.from_number, "Body": body},
        )
        sid = json_body(response).get("sid")
        if not sid:
            raise TransientDeliveryError("Twilio answered without a message sid")
        return SendResult(provider_message_id=str(sid))
