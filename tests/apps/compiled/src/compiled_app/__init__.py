"""A test application whose dependency has a compiled extension."""
