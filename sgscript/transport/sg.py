"""Moved to :mod:`sgscript.transport.linux.sg`: this name stays so older imports keep working.

The module object is the new one (not a copy), so attributes set on it here
reach the Linux code.
"""

import sys

from .linux import sg as _moved

sys.modules[__name__] = _moved
