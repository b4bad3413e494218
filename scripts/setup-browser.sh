#!/usr/bin/env bash
# Installs, where missing, Debian's Chromium for the inspector's browser test (test/Inspector.browser.test.ts,
# driven by playwright-core at /usr/bin/chromium). Does nothing when it is present. Run by
# `npm run setup:browser` and by .ci/run.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "browser ready: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi
bash "$(dirname "$0")/apt-install.sh" chromium
echo "browser ready"
