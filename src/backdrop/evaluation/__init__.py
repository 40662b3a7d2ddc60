"""Scoring cutouts against ground-truth masks: metrics and a folder runner."""
