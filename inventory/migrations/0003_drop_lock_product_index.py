"""Drop single-column foreign-key indexes that a composite index already serves (its leading
column): every checkout inserted into each of them for nothing. Only the index goes; the
foreign-key constraint is left as it is (an AlterField would drop and re-validate it)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0002_stock_hold'),
        ('shop', '0002_drop_cart_item_cart_index'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "inventory_inventorylock_product_id_5b87cd59"',
                    reverse_sql='CREATE INDEX "inventory_inventorylock_product_id_5b87cd59" ON "inventory_inventorylock" ("product_id")',
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name='inventorylock',
                    name='product',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='inventory_locks', to='shop.product'),
                ),
            ],
        ),
    ]
