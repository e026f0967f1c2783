"""`python -m packager.cli` runs `pack`."""

import sys

from . import main

sys.exit(main())
