"""`toolforge review`: a Textual app to review candidates and tools (DESIGN.md §2, §8).

Textual is imported only inside this package, and this package only by `toolforge review`,
so the core and the rest of the CLI stay free of it.

Layout, posting/harlequin style: `app.py` (the app: workers, events, actions), one widget
per file in `widgets/`, one screen per file in `screens/`, `backend.py` (the daemon or the
in-process service behind one protocol), `render.py` (Rich renderables of the models).
"""
