#!/usr/bin/env bash
# PostgreSQL server binaries (initdb, pg_ctl, postgres) for tests/test_postgres.py,
# which runs the nbgrader round trip on a throw-away cluster of its own; nothing
# here starts or configures a server. The Python driver (psycopg2-binary) is in
# requirements.txt. Idempotent: installs Debian's postgresql only if missing.
# Set GRADER_POSTGRES_TESTS=0 to skip it (the PostgreSQL test then skips).
set -u

[ "${GRADER_POSTGRES_TESTS:-1}" = 0 ] && exit 0

have_server() {  # as tests/test_postgres.py looks for them
    for dir in ${GRADER_PG_BINDIR:-} /usr/lib/postgresql/*/bin; do
        [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && return 0
    done
    command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1
}

install_debian() {  # quietly, as root, with apt-get; fails otherwise
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@") >/dev/null 2>&1
}

have_server && exit 0
install_debian postgresql && have_server && exit 0
echo "WARNING: the PostgreSQL server is not installed: tests/test_postgres.py will fail" \
     "(set GRADER_POSTGRES_TESTS=0 to skip it)." >&2
exit 0
