"""Pulumi ComponentResources: one per concern of the platform."""
