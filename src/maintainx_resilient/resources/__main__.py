"""``python -m maintainx_resilient.resources [--check]``: write (or check) ``_async.pyi``."""

import sys

from ._twins import main

raise SystemExit(main(sys.argv[1:]))
