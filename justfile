# toolforge developer tasks. `just` is installed into the venv by the dev extra (rust-just).
venv := ".venv/bin"

# create the virtualenv and install toolforge with its dev tools
setup:
    python3 -m venv .venv
    {{venv}}/pip install -e '.[dev]'

# run the test suite
test *args:
    {{venv}}/python -m pytest {{args}}

# lint and type-check
lint:
    {{venv}}/ruff check src tests bench
    {{venv}}/mypy src/toolforge

# run the benchmarks (figures printed beside the budgets of DESIGN.md §7)
bench:
    {{venv}}/python bench/library_ops.py
    {{venv}}/python bench/validation.py
    {{venv}}/python bench/daemon.py
    {{venv}}/python bench/evolve.py
    {{venv}}/python bench/quality.py
    {{venv}}/python bench/runtime.py
    {{venv}}/python bench/deploy.py
    {{venv}}/python bench/retrieval.py
