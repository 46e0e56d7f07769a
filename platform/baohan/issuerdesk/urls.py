"""The issuer workbench, on each centre's host under ``/issuer/``."""

from django.urls import URLPattern, path

from baohan.issuerdesk import views

app_name = "issuerdesk"

urlpatterns: list[URLPattern] = [
    path("", views.home, name="home"),
    path("login/", views.issuer_login, name="login"),
    path("login/code/", views.issuer_login_code, name="login_code"),
    path("logout/", views.issuer_logout, name="logout"),
    path("review/", views.review_list, name="review"),
    path("vouchers/", views.voucher_list, name="vouchers"),
    path("vouchers/<int:voucher_id>/decision", views.voucher_decide, name="voucher_decide"),
    path("issue/", views.issue_list, name="issue"),
    path("orders/", views.order_list, name="orders"),
    path("orders/<str:number>/", views.order_detail, name="order"),
    path("orders/<str:number>/decision", views.order_decide, name="order_decide"),
    path("orders/<str:number>/issue", views.order_issue, name="order_issue"),
    path("orders/<str:number>/payment", views.order_payment, name="order_payment"),
    path("refunds/", views.refund_list, name="refunds"),
    path("refunds/<str:number>/decision", views.refund_decide, name="refund_decide"),
    path("payouts/<str:number>/paid", views.payout_paid, name="payout_paid"),
    path("invoices/", views.invoice_list, name="invoices"),
    path("invoices/<int:invoice_id>/advance", views.invoice_advance, name="invoice_advance"),
    path("after-sales/", views.after_sales_list, name="after_sales"),
    path("after-sales/<int:request_id>/advance", views.after_sales_advance, name="after_sales_advance"),
    path("claims/", views.claim_list, name="claims"),
    path("claims/<str:number>/action", views.claim_action, name="claim_action"),
    path("statements/", views.statements, name="statements"),
    path("statements/preview", views.statement_preview, name="statement_preview"),
    path("statements/apply", views.statement_apply, name="statement_apply"),
    path("statement-lines/<int:line_id>/assign", views.line_assign, name="line_assign"),
    path("statement-lines/<int:line_id>/dismiss", views.line_dismiss, name="line_dismiss"),
    path("files/<uuid:upload_id>", views.upload_file, name="file"),
]
