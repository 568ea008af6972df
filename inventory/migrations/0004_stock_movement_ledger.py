"""The stock ledger (inventory.StockMovement) and the permission to adjust stock."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('inventory', '0003_drop_lock_product_index'),
        ('shop', '0002_drop_cart_item_cart_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='StockMovement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('delta', models.IntegerField(help_text='Units added (positive) or taken off (negative).')),
                ('stock_after', models.PositiveIntegerField(help_text="The product's stock after the change.")),
                ('kind', models.CharField(choices=[('initial', 'Initial stock'), ('adjustment', 'Staff adjustment'), ('sale', 'Sold (paid or COD accepted)'), ('restock_cancel', 'Restocked: order cancelled'), ('restock_refund', 'Restocked: refund')], max_length=20)),
                ('reason', models.TextField(blank=True)),
                ('order_number', models.CharField(blank=True, max_length=64)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('product', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='stock_movements', to='shop.product')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'permissions': [('adjust_stock', 'Can adjust product stock')],
                'indexes': [models.Index(fields=['product', 'created_at'], name='stock_movement_product_time')],
                'constraints': [models.CheckConstraint(condition=models.Q(('delta', 0), _negated=True), name='stock_movement_delta_non_zero'), models.CheckConstraint(condition=models.Q(('stock_after__gte', 0)), name='stock_movement_stock_after_non_negative'), models.CheckConstraint(condition=models.Q(('kind__in', ['initial', 'adjustment', 'sale', 'restock_cancel', 'restock_refund'])), name='stock_movement_kind_valid')],
            },
        ),
    ]
