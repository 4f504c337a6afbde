"""``python -m signbridge`` is the ``signbridge`` command."""

import sys

from .cli import main

sys.exit(main())
