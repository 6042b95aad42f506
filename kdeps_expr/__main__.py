"""``python -m kdeps_expr``: the ``kdeps-expr`` command."""

import sys

from .cli import main

sys.exit(main())
