"""``python -m batchtasks``: the same command line as the ``batchtasks`` console script."""

from __future__ import annotations

import sys

from batchtasks.cli import main

if __name__ == "__main__":
    sys.exit(main())
