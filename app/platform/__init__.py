"""The platform domain: landing page and the platform admin's view of every school."""
