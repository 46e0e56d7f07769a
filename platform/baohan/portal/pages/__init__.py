"""The bidder's web pages: server-rendered, in the centre's theme, over the same services as the API."""
