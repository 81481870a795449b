"""`python -m qjob_tui`."""

from qjob_tui.cli import main

raise SystemExit(main())
