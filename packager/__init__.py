"""pack: ship a Python application as one relocatable archive."""

__version__ = "0.1.0"
