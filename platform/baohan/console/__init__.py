"""The platform console: centres, their rule packs, themes, credentials, billing and who may act."""
