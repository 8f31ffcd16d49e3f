# ordertrack's everyday recipes; `just` with no arguments lists them.
# They wrap scripts/dev, which works without just installed.

default:
    @just --list

# Install what is missing, start the infra and the five services, wait until ready
up:
    scripts/dev up

# Stop the services and the infra (data is kept)
down:
    scripts/dev down

# What runs, on which port, and whether it is ready
status:
    scripts/dev status

# Follow a log: a service, postgres, redis, kafka or test-kafka
logs name:
    scripts/dev logs {{name}}

# Stop everything and delete all local state
reset:
    scripts/dev reset

# Start only PostgreSQL, Redis and the Kafka broker
infra:
    scripts/dev infra

# The whole test suite, starting the infra it needs
test:
    scripts/dev test

# Format the code
fmt:
    cargo fmt --all

# Clippy as CI runs it
lint:
    cargo clippy --workspace --all-targets --locked -- -D warnings

# The long load run with its invariant checks and report (docs/load-and-faults.md)
load *args:
    scripts/dev load {{args}}

# The fault suite: faults under load on a stack of its own (docs/load-and-faults.md)
faults *args:
    scripts/faults {{args}}

# The fuzz targets for a bounded time (docs/bad-input.md)
fuzz *args:
    scripts/fuzz {{args}}
