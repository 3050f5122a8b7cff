"""``python -m maintainx_resilient.cli``."""

import sys

from . import main

sys.exit(main())
