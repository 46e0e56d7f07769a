"""The centre's public face: landing page and the site endpoint; the platform's home page."""
