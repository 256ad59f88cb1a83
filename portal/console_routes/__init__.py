"""The console's URLs, one module per area (tenants, investigation, delivery); console_urls joins them."""
