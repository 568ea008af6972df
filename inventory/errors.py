from config.errors import DomainError


class InsufficientStock(DomainError):
    code = "insufficient_stock"
    http_status = 409
    message = "Not enough stock for some products."


class ProductNotFound(DomainError):
    code = "product_not_found"
    http_status = 404
    message = "A product in the request does not exist."
