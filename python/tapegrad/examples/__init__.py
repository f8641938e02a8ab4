"""Worked examples: ``digits`` trains a classifier on scikit-learn's handwritten digits."""
