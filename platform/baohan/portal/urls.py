"""The bidder's pages on a centre's host."""

from django.urls import path

from baohan.portal.pages import account, apply, orders, sections

urlpatterns = [
    path("sections/", sections.section_list, name="portal_sections"),
    path("sections/<str:code>/", sections.section_detail, name="portal_section"),
    path("sections/<str:code>/apply", apply.apply_start, name="portal_apply"),
    path("orders/", orders.order_list, name="portal_orders"),
    path("orders/<str:number>/", orders.order_detail, name="portal_order"),
    path("orders/<str:number>/confirm", apply.apply_confirm, name="portal_apply_confirm"),
    path("orders/<str:number>/submitted", apply.apply_done, name="portal_apply_done"),
    path("orders/<str:number>/voucher", orders.order_voucher, name="portal_order_voucher"),
    path("orders/<str:number>/paid", orders.order_paid, name="portal_order_paid"),
    path("orders/<str:number>/checkout", orders.order_checkout, name="portal_order_checkout"),
    path("orders/<str:number>/after-sales", orders.order_after_sales, name="portal_order_after_sales"),
    path("orders/<str:number>/abandon", orders.order_abandon, name="portal_order_abandon"),
    path("orders/<str:number>/refund", orders.order_refund, name="portal_order_refund"),
    path("orders/<str:number>/refund-account", orders.order_refund_account, name="portal_order_refund_account"),
    path("orders/<str:number>/invoice", orders.order_invoice, name="portal_order_invoice"),
    path("orders/<str:number>/documents/<str:kind>", orders.order_document, name="portal_order_document"),
    path("account/invoice-titles/", account.invoice_titles, name="portal_invoice_titles"),
    path("account/addresses/", account.invoice_addresses, name="portal_invoice_addresses"),
    path("account/after-sales/", account.after_sales_records, name="portal_after_sales"),
    path("account/refunds/", account.refund_records, name="portal_refunds"),
    path("account/invoices/", account.invoice_list, name="portal_invoices"),
    path("account/invoices/<str:number>/", account.invoice_detail, name="portal_invoice"),
]
