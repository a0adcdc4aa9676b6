"""A test app whose cards broadcast to their board's topic."""
