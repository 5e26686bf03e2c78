"""Shared test configuration.

Warnings are errors (pyproject), so an unclosed aiohttp session or a pending task destroyed at
shutdown fails the test that caused it.
"""
