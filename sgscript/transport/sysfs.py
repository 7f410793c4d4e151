"""Moved to :mod:`sgscript.transport.linux.sysfs`: this name stays so older imports keep working.

The module object is the new one (not a copy), so attributes set on it here
reach the Linux code.
"""

import sys

from .linux import sysfs as _moved

sys.modules[__name__] = _moved
