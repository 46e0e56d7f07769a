"""Trading centres as tenants: models, onboarding, schema cloning, theme selection."""
