"""``python -m pourbench.cli VERB ...`` is ``pourbench VERB ...``."""

from pourbench.cli import main

main()
