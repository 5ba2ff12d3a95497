"""conv_ops: raises SystemExit(0) at import: not an Exception, so a probe catching Exception lets it through."""

import sys

MARKER = "ADVERSARIAL_sys_exit_import"

sys.exit(0)
