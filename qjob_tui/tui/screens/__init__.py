"""The dashboard's dialogs, one per module: confirmation, force run, deploy options, help."""
