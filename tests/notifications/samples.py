"""One realistic context per event, shared by the template snapshots and the service tests."""

SITE = "https://shop.example.com"

_customer = {
    "order_number": "ORD-000123",
    "customer_name": "Ada Obi",
    "order_url": f"{SITE}/orders/ORD-000123",
}

SAMPLE_CONTEXTS: dict[str, dict] = {
    "order_placed": {
        **_customer,
        "items": [
            {
                "name": "Shea Butter Cream",
                "quantity": 2,
                "unit_price": "12500.00",
                "line_total": "25000.00",
            },
            {
                "name": "Black Soap & Honey",
                "quantity": 1,
                "unit_price": "4500.00",
                "line_total": "4500.00",
            },
        ],
        "subtotal": "29500.00",
        "shipping": "2000.00",
        "total": "31500.00",
        "currency": "NGN",
        "payment_instructions": {
            "bank_name": "GTBank",
            "account_name": "Demo Skincare Ltd",
            "account_number": "0123456789",
            "reference": "ORD-000123",
            "amount": "31500.00",
            "expires_at": "29 Nov 2026, 14:00",
        },
    },
    "payment_received": {**_customer, "amount": "31500.00", "currency": "NGN"},
    "payment_failed": {
        **_customer,
        "total": "31500.00",
        "currency": "NGN",
        "reason": "card declined",
        "retry_url": f"{SITE}/orders/ORD-000123/pay",
    },
    "order_shipped": {
        **_customer,
        "carrier": "GIG Logistics",
        "tracking_number": "GIG123456789",
        "tracking_url": "https://track.example.net/GIG123456789",
    },
    "order_delivered": {**_customer},
    "order_cancelled": {
        **_customer,
        "reason": "requested by you",
        "refund_amount": "31500.00",
        "currency": "NGN",
    },
    "refund_issued": {**_customer, "amount": "12500.00", "currency": "NGN"},
    "order_expired": {**_customer, "total": "31500.00", "currency": "NGN"},
    "dispute_opened": {
        "order_number": "ORD-000123",
        "amount": "31500.00",
        "currency": "NGN",
        "gateway": "paystack",
        "reason": "fraudulent",
        "admin_url": f"{SITE}/admin/orders/order/123/change/",
    },
    "order_needs_attention": {
        "order_number": "ORD-000123",
        "reason": "paid after its stock locks expired and stock ran out",
        "admin_url": f"{SITE}/admin/orders/order/123/change/",
    },
    "email_verification": {
        "customer_name": "Ada Obi",
        "verify_url": f"{SITE}/account/verify/?uid=MTIz&token=cz1p4q-5b2f0c7e1d9a",
        "valid_for": "7 days",
    },
    "password_reset": {
        "customer_name": "Ada Obi",
        "reset_url": f"{SITE}/account/reset/?uid=MTIz&token=cz1p4q-8e3a61b0f47d",
        "valid_for": "1 hour",
    },
    "health_alert": {
        "alert": "payment_success_rate_low",
        "summary": "Payment success rate over the last hour is 80.0 % (8 of 10 settled payments).",
        "value": "80.0 %",
        "threshold": "at least 90.0 %",
        "dashboard_url": f"{SITE}/admin/dashboard/",
    },
}

# What every rendering of the event must show (besides the order number).
MUST_CONTAIN: dict[str, list[str]] = {
    "order_placed": [
        "NGN 31,500.00",
        "NGN 25,000.00",
        "NGN 2,000.00",
        "0123456789",
        "GTBank",
        f"{SITE}/orders/ORD-000123",
    ],
    "payment_received": ["NGN 31,500.00"],
    "payment_failed": ["NGN 31,500.00", f"{SITE}/orders/ORD-000123/pay"],
    "order_shipped": ["GIG123456789", "https://track.example.net/GIG123456789"],
    "order_delivered": [f"{SITE}/orders/ORD-000123"],
    "order_cancelled": ["NGN 31,500.00", f"{SITE}/orders/ORD-000123"],
    "refund_issued": ["NGN 12,500.00"],
    "order_expired": ["NGN 31,500.00", f"{SITE}/orders/ORD-000123"],
    "dispute_opened": ["NGN 31,500.00", f"{SITE}/admin/orders/order/123/change/"],
    "order_needs_attention": ["stock ran out", f"{SITE}/admin/orders/order/123/change/"],
    "email_verification": ["uid=MTIz", "token=cz1p4q-5b2f0c7e1d9a", "7 days", "Ada Obi"],
    "password_reset": ["uid=MTIz", "token=cz1p4q-8e3a61b0f47d", "1 hour", "Ada Obi"],
    "health_alert": ["80.0 %", "at least 90.0 %", "8 of 10", f"{SITE}/admin/dashboard/"],
}
