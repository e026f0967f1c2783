"""The example application of pack's `make demo`."""
