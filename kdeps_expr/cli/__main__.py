"""``python -m kdeps_expr.cli``: the ``kdeps-expr`` command."""

import sys

from .main import main

sys.exit(main())
