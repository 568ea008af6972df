from django.urls import path

from backoffice import api

urlpatterns = [
    path("orders/", api.StaffOrderListApi.as_view(), name="staff-order-list"),
    path("orders/<int:order_id>/", api.StaffOrderDetailApi.as_view(), name="staff-order-detail"),
    path(
        "orders/<int:order_id>/status/",
        api.StaffOrderStatusApi.as_view(),
        name="staff-order-status",
    ),
    path(
        "orders/<int:order_id>/refund/",
        api.StaffOrderRefundApi.as_view(),
        name="staff-order-refund",
    ),
    path(
        "orders/<int:order_id>/cancel/",
        api.StaffOrderCancelApi.as_view(),
        name="staff-order-cancel",
    ),
    path(
        "orders/<int:order_id>/confirm-bank-transfer/",
        api.StaffConfirmBankTransferApi.as_view(),
        name="staff-order-confirm-bank-transfer",
    ),
    path(
        "orders/<int:order_id>/accept-cod/",
        api.StaffAcceptCodApi.as_view(),
        name="staff-order-accept-cod",
    ),
    path(
        "orders/<int:order_id>/cash-collected/",
        api.StaffCashCollectedApi.as_view(),
        name="staff-order-cash-collected",
    ),
    path(
        "orders/<int:order_id>/delivery-refused/",
        api.StaffDeliveryRefusedApi.as_view(),
        name="staff-order-delivery-refused",
    ),
]
