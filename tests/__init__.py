"""The tests: one package per area of qjob_tui, and `common`, what every area shares."""
