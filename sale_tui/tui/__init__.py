"""The Textual front end: ``sale-tui`` with no arguments. The one home of textual.

It renders the same events as ``sale-tui do`` (``sale_tui.pipeline``), run in a thread worker
and posted back as messages, so the UI never waits on a model.
"""
