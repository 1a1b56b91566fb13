"""sr package."""
