"""`toolforge doctor`: checks of the machine and the configuration, each with its fix.

- `checks`: the checks and `run_doctor` (Python, git, library, settings, sandbox, model and
  its endpoint, daemon);
- `sandbox`: what the sandbox can do here, the backend that will run, and the one command
  that makes an isolating backend work (also the demo's pre-flight);
- `endpoint`: whether a model endpoint answers, without a model call.
"""
