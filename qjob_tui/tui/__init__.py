"""The Textual face: the dashboard (`app.QJobApp`), its screens, widgets and one stylesheet.

Nothing here is imported by the core or the servers; the dashboard reaches Qovery only through
`runtime.pipeline` (actions) and `runtime.board` (jobs and states).
"""
