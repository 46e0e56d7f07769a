"""Platform billing: each centre's plan, its usage counted from the guarantees it issued, and the
monthly invoices sent through Stripe Billing (public schema)."""
