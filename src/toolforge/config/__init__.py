"""Settings: who may set what, read strictly, combined into what applies.

- `strict`: reading a TOML settings file so that every problem names the key and the file.
- `user`: the user config (platformdirs; `TOOLFORGE_CONFIG`), for what a library must not
  choose: models, endpoints and keys, the sandbox backend, limits and grants.
- `effective`: a library's toolforge.toml (`toolforge.library.settings`) combined with the
  user's settings and the environment; what a library may not set is refused and reported.
- `paths`: where every kind of state lives (`toolforge paths`).

Import the submodules directly: this package stays empty so that `library.settings` can use
`strict` without a cycle.
"""
