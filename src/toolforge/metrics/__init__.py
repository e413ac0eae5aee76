"""Measurements about the library in use: tool-call usage records (and, later, reuse metrics).

Core code: no UI, HTTP or LLM imports.
"""
