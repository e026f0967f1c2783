"""A second console script: proves every named entry point gets a launcher."""

import sys


def main() -> None:
    print("admin:" + " ".join(sys.argv[1:]))
