"""Readers for the original source files of published connectomes."""
