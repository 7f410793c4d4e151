"""The hook specs' former home: every name re-exported from :mod:`sgscript.hookspecs`.

Kept so plugins written against ``sgscript.verify.hookspecs`` keep loading.
"""

from ..hookspecs import *  # noqa: F403
from ..hookspecs import __all__ as __all__
