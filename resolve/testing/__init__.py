"""Helpers for the test suite: build data through the real services, talk to the real API."""
