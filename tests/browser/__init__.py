"""Real-browser tests: headless Chromium (Debian's, ``make browser``) walks the bidder's site through Playwright."""
