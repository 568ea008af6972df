import pytest
from django.core import mail
from django.core.management import call_command

from notifications.models import Notification
from notifications.tasks import dispatch_notifications
from tests.factories import NotificationFactory


@pytest.mark.django_db
def test_the_task_dispatches_batch_after_batch_until_nothing_is_due():
    NotificationFactory.create_batch(5)

    totals = dispatch_notifications.apply(kwargs={"max_batches": 20, "batch_size": 2}).get()

    assert (totals["claimed"], totals["sent"]) == (5, 5)
    assert len(mail.outbox) == 5
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db
def test_the_task_stops_after_max_batches():
    NotificationFactory.create_batch(5)

    totals = dispatch_notifications.apply(kwargs={"max_batches": 2, "batch_size": 2}).get()

    assert totals["claimed"] == 4
    assert Notification.objects.filter(status="queued").count() == 1


@pytest.mark.django_db
def test_the_management_command_reports_counts(capsys):
    NotificationFactory.create_batch(2)

    call_command("dispatch_notifications")

    assert capsys.readouterr().out.strip() == (
        "claimed=2 sent=2 failed=0 dead=0 released=0 lost_lease=0"
    )
