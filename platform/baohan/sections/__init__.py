"""Tender projects and sections (标段), pushed by the trading centre. Lives in tenant schemas."""
