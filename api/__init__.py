"""The HTTP edge: the versioned integration API (/v1) and the coordinators' dashboard."""
