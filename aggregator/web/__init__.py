"""The aiohttp application that publishes feeds, pages and the API."""
