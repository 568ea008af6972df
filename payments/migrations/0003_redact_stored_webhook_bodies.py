"""Webhook bodies stored before redaction: redact them, and keep only a 4 KB prefix of refused
ones, with the length and SHA-256 of the stored copy (for rows stored earlier that is the body
received, unless it held bytes that were not UTF-8 or a NUL, which were replaced on storing).

Rows are taken in primary-key batches, so a large table is not loaded at once. Rows that
already have a length were stored redacted and are left alone, so running it again is a no-op.
There is no way back: the reverse migration keeps the redacted copies.
"""

from django.db import migrations

BATCH = 200


def redact_stored_bodies(apps, schema_editor):
    from payments.webhook_bodies import stored_body

    WebhookEvent = apps.get_model("payments", "WebhookEvent")
    last_pk = 0
    while True:
        batch = list(
            WebhookEvent.objects.filter(pk__gt=last_pk, body_length__isnull=True)
            .order_by("pk")
            .only("pk", "gateway", "raw_body", "signature_valid")[:BATCH]
        )
        if not batch:
            return
        for row in batch:
            stored = stored_body(
                row.gateway, row.raw_body.encode(), refused=not row.signature_valid
            )
            row.raw_body, row.body_length, row.body_sha256 = (
                stored.text,
                stored.length,
                stored.sha256,
            )
        WebhookEvent.objects.bulk_update(batch, ["raw_body", "body_length", "body_sha256"])
        last_pk = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_webhook_event_body_digest_and_dead_letters")]

    operations = [migrations.RunPython(redact_stored_bodies, migrations.RunPython.noop)]
