"""The instructors' teaching portal."""
