"""The review app's screens and modals, one per file."""
