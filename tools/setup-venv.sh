#!/usr/bin/env bash
# Creates the project venv .venv with the pip list of environment.yml. Does nothing when the
# venv already has exactly that list installed (the stamp file holds a copy of it).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv
stamp=$venv/.environment.yml
if [ -x "$venv/bin/python" ] && cmp -s environment.yml "$stamp"; then
  exit 0
fi
python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "error: $python not found; install Python 3.9+ (apt-get install python3-venv)" >&2; exit 1; }
echo "==> setting up the Python venv $venv (from environment.yml)"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv" || {
  echo "error: could not create a venv; on Debian: apt-get install python3-venv" >&2; exit 1; }
# The pip: list of environment.yml: indented "- name==version" lines after "- pip:".
reqs=$(awk '/- pip:/{p=1; next} p && /^ *- /{sub(/^ *- /, ""); print; next} p{p=0}' environment.yml)
[ -n "$reqs" ] || { echo "error: no pip: list found in environment.yml" >&2; exit 1; }
"$venv/bin/pip" install -q --disable-pip-version-check $reqs
cp environment.yml "$stamp"
