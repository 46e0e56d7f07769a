"""``/api/v1/``: bidder, trading centre (``centre/``) and issuer (``issuer/``) endpoints of every app.

Composed here, above the apps, so that ``baohan.guarantees`` need not import payments or documents."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from baohan.claims import api as claims
from baohan.documents import api as documents
from baohan.guarantees.api import bidder, centre, issuer
from baohan.identity import api as identity
from baohan.payments import api as payments
from baohan.payments import api_confirmations as confirmations

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("auth/token", bidder.TokenLogin.as_view(), name="api-token"),
    path("auth/ca-challenge", bidder.CaChallenge.as_view()),
    path("captcha", identity.CaptchaView.as_view()),
    path("sms-codes", identity.SmsCodeView.as_view()),
    path("enterprise-verification", identity.EnterpriseVerificationView.as_view()),
    path("centre/enterprise-verifications/", identity.CentreVerificationList.as_view()),
    path("centre/enterprise-verifications/<int:pk>/review", identity.CentreVerificationReview.as_view()),
    # bidder
    path("catalogue", bidder.Catalogue.as_view()),
    path("sections/", bidder.SectionList.as_view()),
    path("sections/<str:code>", bidder.SectionDetail.as_view()),
    path("quote", bidder.QuoteView.as_view()),
    path("uploads", bidder.UploadView.as_view()),
    path("orders/", bidder.OrderList.as_view()),
    path("orders/<str:number>", bidder.OrderDetail.as_view()),
    path("orders/<str:number>/submit", bidder.OrderSubmit.as_view()),
    path("orders/<str:number>/abandon", bidder.OrderAbandon.as_view()),
    path("orders/<str:number>/cancel", bidder.OrderCancel.as_view()),
    path("orders/<str:number>/refund-eligibility", bidder.RefundEligibilityView.as_view()),
    path("orders/<str:number>/refund", bidder.RefundRequestView.as_view()),
    path("orders/<str:number>/invoice-eligibility", bidder.InvoiceEligibilityView.as_view()),
    path("orders/<str:number>/invoice", bidder.InvoiceRequestView.as_view()),
    path("orders/<str:number>/after-sales", bidder.OrderAfterSales.as_view()),
    path("orders/<str:number>/payments", payments.OrderMoney.as_view()),
    path("orders/<str:number>/voucher", payments.OrderVoucher.as_view()),
    path("orders/<str:number>/checkout", payments.OrderCheckout.as_view()),
    path("payouts/", payments.BidderPayouts.as_view()),
    path("orders/<str:number>/documents", documents.OrderDocuments.as_view()),
    path("orders/<str:number>/claims", claims.BidderClaims.as_view()),
    path("orders/<str:number>/documents/<str:kind>", documents.OrderDocumentFile.as_view()),
    path("refunds/", bidder.RefundList.as_view()),
    path("refunds/<str:number>/account", bidder.RefundAccountView.as_view()),
    path("invoice-titles/", bidder.InvoiceTitles.as_view()),
    path("invoice-addresses/", bidder.InvoiceAddresses.as_view()),
    path("after-sales/", bidder.AfterSalesList.as_view()),
    # trading centre
    path("centre/sections/<str:code>", centre.CentreSection.as_view()),
    path("centre/sections/<str:code>/events", centre.CentreSectionEvents.as_view()),
    path("centre/sections/<str:code>/guarantees", centre.CentreSectionGuarantees.as_view()),
    path("centre/guarantees/<str:number>", centre.CentreVerify.as_view()),
    path("centre/guarantees/<str:number>/policy", documents.CentrePolicy.as_view()),
    path("centre/guarantees/<str:number>/claims", claims.CentreClaims.as_view()),
    # issuer
    path("issuer/orders/", issuer.IssuerOrders.as_view()),
    path("issuer/orders/<str:number>", issuer.IssuerOrder.as_view()),
    path("issuer/orders/<str:number>/decision", issuer.IssuerDecision.as_view()),
    path("issuer/orders/<str:number>/payment", confirmations.IssuerPayment.as_view()),
    path("issuer/orders/<str:number>/issue", issuer.IssuerIssue.as_view()),
    path("issuer/refunds/", issuer.IssuerRefunds.as_view()),
    path("issuer/refunds/<str:number>/decision", issuer.IssuerRefundDecision.as_view()),
    path("issuer/refunds/<str:number>/payout", confirmations.IssuerRefundPayout.as_view()),
    path("issuer/invoices/", issuer.IssuerInvoices.as_view()),
    path("issuer/invoices/<int:invoice_id>", issuer.IssuerInvoiceAdvance.as_view()),
    path("issuer/after-sales/", issuer.IssuerAfterSales.as_view()),
    path("issuer/after-sales/<int:request_id>", issuer.IssuerAfterSalesAdvance.as_view()),
    path("issuer/statements", payments.IssuerStatements.as_view()),
    path("issuer/statement-lines/", payments.IssuerStatementLines.as_view()),
    path("issuer/statement-lines/<int:line_id>/assign", payments.IssuerLineAssign.as_view()),
    path("issuer/statement-lines/<int:line_id>/dismiss", payments.IssuerLineDismiss.as_view()),
    path("issuer/vouchers/", payments.IssuerVouchers.as_view()),
    path("issuer/vouchers/<int:voucher_id>/decision", payments.IssuerVoucherDecision.as_view()),
    path("issuer/payouts/", payments.IssuerPayouts.as_view()),
    path("issuer/claims/", claims.IssuerClaims.as_view()),
    path("issuer/claims/<str:number>", claims.IssuerClaimAction.as_view()),
    path("issuer/claims/<str:number>/evidence/<int:evidence_id>", claims.IssuerClaimEvidence.as_view()),
    path("issuer/payouts/<str:number>/paid", payments.IssuerPayoutPaid.as_view()),
    # a bank's push and Stripe's webhook (signed requests, no credential)
    path("bank/statement-lines", payments.BankPush.as_view()),
    path("stripe/webhook", payments.StripeWebhook.as_view()),
    # anyone: is this guarantee genuine?
    path("verify", documents.GuaranteeVerify.as_view()),
    path("verify/document", documents.DocumentVerify.as_view()),
    path("claims", claims.TendereeClaims.as_view()),
]
