"""Pages for the centre's own staff."""

from django.urls import URLPattern, path

from baohan.portal import staff

app_name = "staff"

urlpatterns: list[URLPattern] = [
    path("", staff.dashboard, name="dashboard"),
    path("login/", staff.staff_login, name="login"),
    path("logout/", staff.staff_logout, name="logout"),
    path("sections/", staff.sections, name="sections"),
    path("sections/<str:code>/", staff.section_detail, name="section"),
    path("orders/<str:number>/", staff.order_detail, name="order"),
    path("verifications/", staff.verifications, name="verifications"),
    path("verifications/<int:verification_id>/review", staff.verification_review, name="verification_review"),
    path("vouchers/", staff.vouchers, name="vouchers"),
    path("vouchers/<int:voucher_id>/review", staff.voucher_review, name="voucher_review"),
    path("bank-lines/", staff.bank_lines, name="bank_lines"),
    path("bank-lines/<int:line_id>/assign", staff.bank_line_assign, name="bank_line_assign"),
    path("bank-lines/<int:line_id>/dismiss", staff.bank_line_dismiss, name="bank_line_dismiss"),
    path("after-sales/", staff.after_sales, name="after_sales"),
    path("after-sales/<int:request_id>/advance", staff.after_sales_move, name="after_sales_advance"),
    path("claims/", staff.claims, name="claims"),
    path("files/<uuid:upload_id>", staff.upload_file, name="file"),
]
