"""matplotlib's font list, built once per grading machine and handed to each sandbox: Keras imports
matplotlib, which in a sandbox's fresh home rebuilt the list at every start (0.4-0.6 s)."""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import tempfile
from pathlib import Path

from grader.config import Config

log = logging.getLogger(__name__)

FONT_LIST_GLOB = "fontlist-*.json"
"""What matplotlib writes into its cache folder (fontlist-v3.11.0.json: the version is in the name)."""
BUILD_SECONDS = 60


@functools.lru_cache(maxsize=4)
def font_list(config: Config, fonts_conf: Path) -> Path | None:
    """The font list a sandbox's matplotlib would build, with the sandbox's interpreter, environment
    and fontconfig file `fonts_conf`, kept under config.cache_dir; None where matplotlib is not
    installed or the list could not be built (each sandbox then builds its own, as before)."""
    folder = Path(config.cache_dir) / "matplotlib-fonts"
    try:
        if found := sorted(folder.glob(FONT_LIST_GLOB)):
            return found[-1]
        folder.mkdir(parents=True, exist_ok=True)
        # Built in a private folder, then moved into place: concurrent workers never read half a file.
        with tempfile.TemporaryDirectory(dir=folder) as private:
            env = config.sandbox_env() | {"MPLCONFIGDIR": private, "FONTCONFIG_FILE": str(fonts_conf), "HOME": private}
            subprocess.run([config.sandbox_python, "-c", "import matplotlib.font_manager"], env=env,
                           timeout=BUILD_SECONDS, check=True, capture_output=True)
            built = sorted(Path(private).glob(FONT_LIST_GLOB))
            if not built:
                return None
            os.replace(built[-1], folder / built[-1].name)
            return folder / built[-1].name
    except (OSError, subprocess.SubprocessError) as error:
        log.info("no matplotlib font list for the sandboxes (each builds its own): %s", error)
        return None
