"""Reports what the bundle looks like from inside, echoes stdin, exits with a chosen code."""

import json
import os
import sys

import markupsafe
import markupsafe._speedups  # the compiled extension: must load from the bundle


def main() -> int:
    args = sys.argv[1:]
    code = 0
    if args[:1] == ["--exit"]:
        code = int(args[1])
        args = args[2:]
    data = sys.stdin.read() if args[:1] == ["--stdin"] else None
    report = {
        "argv0": sys.argv[0],
        "args": args,
        "stdin": data,
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "executable": sys.executable,
        "escaped": str(markupsafe.escape("<b>")),
        "speedups": markupsafe._speedups.__file__,
        "bundle_root": os.environ.get("PACK_BUNDLE_ROOT"),
        "pythonpath": os.environ.get("PYTHONPATH"),
        "pythonhome": os.environ.get("PYTHONHOME"),
        "path": sys.path,
    }
    print(json.dumps(report))
    return code
