# Shared by scripts/run and scripts/test: a virtual environment in .venv, with Debian's
# python3-venv installed first when the interpreter lacks it.
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_venv() {
    if [ -x .venv/bin/python ]; then
        return
    fi
    if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
    fi
    python3 -m venv .venv
    .venv/bin/pip install -q --upgrade pip
}
