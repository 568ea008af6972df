"""Drop single-column foreign-key indexes that a composite index already serves (its leading
column): every checkout inserted into each of them for nothing. Only the index goes; the
foreign-key constraint is left as it is (an AlterField would drop and re-validate it)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('shop', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "shop_cartitem_cart_id_6bf1447e"',
                    reverse_sql='CREATE INDEX "shop_cartitem_cart_id_6bf1447e" ON "shop_cartitem" ("cart_id")',
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name='cartitem',
                    name='cart',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='items', to='shop.cart'),
                ),
            ],
        ),
    ]
