"""benchapp: the sample CLI of pack's benchmark (bench/)."""

__version__ = "1.0.0"
