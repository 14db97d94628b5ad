"""storysearch: search Chinese newspaper archives by keyword and by meaning."""
