"""A partial index of open unpaid orders per customer, for checkout's per-customer cap."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0006_cod_orders_expire_unaccepted'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='order',
            index=models.Index(condition=models.Q(('state__in', ('pending_payment', 'payment_failed'))), fields=['customer'], name='order_customer_unpaid'),
        ),
    ]
