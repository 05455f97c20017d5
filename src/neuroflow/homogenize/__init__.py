"""Homogenization of C. elegans connectomes (and, later, neural activity)."""
