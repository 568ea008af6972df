from django.urls import path

from shop import views

urlpatterns = [
    path("products/", views.ProductListView.as_view(), name="product-list"),
    path("products/<int:pk>/", views.ProductDetailView.as_view(), name="product-detail"),
    path("cart/", views.CartView.as_view(), name="cart"),
    path("cart/items/", views.CartItemsView.as_view(), name="cart-items"),
    path("cart/items/<int:item_id>/", views.CartItemView.as_view(), name="cart-item"),
    path("addresses/", views.AddressListView.as_view(), name="address-list"),
    path("addresses/<int:address_id>/", views.AddressDetailView.as_view(), name="address-detail"),
]
