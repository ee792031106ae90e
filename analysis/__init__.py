"""Analysing labelled corpora: aggregates over time and outlet, and the HTML report."""
