"""HTTP and WebSocket surface: pages, JSON API, live streams."""
