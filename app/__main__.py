"""``python -m stfmr.app`` is ``stfmr``."""

import sys

from stfmr.app.cli import main

sys.exit(main())
