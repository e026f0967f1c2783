"""`.pack/runtime/__main__.py` of every bundle: `python -I -S .pack/runtime ARGS` runs this file
with .pack/runtime first on sys.path, so the pack_runtime package beside it is importable."""

import sys

from pack_runtime.cli import main

sys.exit(main())
