from core.errors import DomainError


class InsufficientStock(DomainError):
    code = "insufficient_stock"
    http_status = 409
    message = "Not enough stock for some products."


class ProductNotFound(DomainError):
    code = "product_not_found"
    http_status = 404
    message = "A product in the request does not exist."


class StockChanged(DomainError):
    code = "stock_changed"
    http_status = 409
    message = "The stock changed since you looked at it; review the current figure and retry."


class StockNegative(DomainError):
    code = "stock_negative"
    http_status = 409
    message = "Stock cannot go below zero."


class StockAdjustmentInvalid(DomainError):
    code = "stock_adjustment_invalid"
    http_status = 400
    message = "Give a non-zero change, or a new stock level with the stock you saw."


class StockReasonRequired(DomainError):
    code = "reason_required"
    http_status = 400
    message = "Give a reason for the stock change; it goes into the stock ledger."
