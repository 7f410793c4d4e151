"""``python -m sgscript``: the same as the ``sgscript`` console script."""

from .cli import main

raise SystemExit(main())
