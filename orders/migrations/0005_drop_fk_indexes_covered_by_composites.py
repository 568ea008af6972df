"""Drop single-column foreign-key indexes that a composite index already serves (its leading
column): every checkout inserted into each of them for nothing. Only the index goes; the
foreign-key constraint is left as it is (an AlterField would drop and re-validate it)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0004_staff_groups'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "orders_idempotencykey_customer_id_f77f7fcd"',
                    reverse_sql='CREATE INDEX "orders_idempotencykey_customer_id_f77f7fcd" ON "orders_idempotencykey" ("customer_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "orders_order_customer_id_0b76f6a4"',
                    reverse_sql='CREATE INDEX "orders_order_customer_id_0b76f6a4" ON "orders_order" ("customer_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "orders_orderevent_order_id_b26297f3"',
                    reverse_sql='CREATE INDEX "orders_orderevent_order_id_b26297f3" ON "orders_orderevent" ("order_id")',
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name='idempotencykey',
                    name='customer',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL),
                ),
                migrations.AlterField(
                    model_name='order',
                    name='customer',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='orders', to=settings.AUTH_USER_MODEL),
                ),
                migrations.AlterField(
                    model_name='orderevent',
                    name='order',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='events', to='orders.order'),
                ),
            ],
        ),
    ]
