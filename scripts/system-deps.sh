#!/usr/bin/env bash
# Debian packages Jiuzhu needs beyond Python: Chromium for the browser tests, CJK fonts so Chinese
# renders in the browser and can be embedded in PDFs, libfaketime so that tests can start Temporal's
# time-skipping server at a stated instant (tests/support/clock.py). Installs only what is missing.
set -euo pipefail
packages=(chromium fonts-noto-cjk fonts-wqy-microhei poppler-utils libfaketime)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "system-deps: apt-get not found; install ${missing[*]} by hand" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "system-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
