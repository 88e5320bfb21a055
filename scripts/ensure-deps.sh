# shellcheck shell=bash
# ensure-deps.sh — sourced by ./demo and ./test: installs what is missing on a fresh Debian
# machine (PostgreSQL 15 server binaries, openssl for the TLS tests), nothing else.

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export PGBIN

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

apt_install() {
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    say "installing with apt: $*"
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_postgres() {
    if [ ! -x "$PGBIN/postgres" ] || [ ! -x "$PGBIN/initdb" ]; then
        apt_install postgresql-15 postgresql-client-15
    fi
    [ -x "$PGBIN/postgres" ] || { echo "error: PostgreSQL 15 server binaries not found in $PGBIN (set PGBIN)" >&2; exit 1; }
    # initdb refuses to run as root; the servers then run as the OS user postgres.
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
}

ensure_tools() {
    local missing=()
    command -v openssl >/dev/null || missing+=(openssl)
    command -v cc >/dev/null || missing+=(gcc)
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

ensure_rust() {
    command -v cargo >/dev/null || { echo "error: cargo not found: install the Rust toolchain (https://rustup.rs)" >&2; exit 1; }
}
