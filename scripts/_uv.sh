# Sourced by scripts/app and scripts/test: sets UV to a working uv command,
# installing uv first if needed. Uses the uv on PATH, else `python3 -m uv`,
# else a private bootstrap venv (works where pip refuses system-wide
# installs, PEP 668).
if command -v uv >/dev/null 2>&1; then
  UV=(uv)
elif python3 -m uv --version >/dev/null 2>&1; then
  UV=(python3 -m uv)
else
  boot=".tools/uv-venv"
  if [ ! -x "$boot/bin/uv" ]; then
    python3 -m venv "$boot"
    "$boot/bin/python" -m pip install --quiet uv
  fi
  UV=("$boot/bin/uv")
fi
