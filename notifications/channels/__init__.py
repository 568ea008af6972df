"""Delivery channels. Each takes plain values and returns a ``SendResult`` or raises a
``DeliveryError`` saying whether trying again could help."""
