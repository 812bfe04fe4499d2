#!/usr/bin/env bash
# Builds the dashboard into app/dist/ (embedded in the binary by this crate's build.rs):
# npm ci from the committed lockfile, a type check, then one esbuild bundle (JS + CSS) and index.html.
# Skips everything when neither the sources nor the lockfile changed since the last build (a stamp in
# dist/), so scripts/setup.sh stays fast on a machine that already built it.
set -euo pipefail
cd "$(dirname "$0")/app"

command -v npm >/dev/null || { echo "web: npm is required (scripts/setup.sh installs nodejs and npm)"; exit 1; }

stamp() { cat package.json package-lock.json tsconfig.json index.html ../build.sh $(find src -type f | sort) | sha256sum | cut -c1-64; }
want="$(stamp)"
if [ -f dist/.stamp ] && [ "$(cat dist/.stamp)" = "$want" ] && [ -f dist/app.js ]; then
  echo "web: app/dist is up to date"
  exit 0
fi

# node_modules is reinstalled only when the lockfile changed (npm ci always starts from scratch).
lock="$(sha256sum package-lock.json | cut -c1-64)"
if [ ! -f node_modules/.lock-stamp ] || [ "$(cat node_modules/.lock-stamp)" != "$lock" ]; then
  echo "web: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock" > node_modules/.lock-stamp
fi

echo "web: type check"
npx --no-install tsc --noEmit -p .
echo "web: bundle"
rm -rf dist.tmp
npx --no-install esbuild src/main.ts --bundle --minify --target=es2020 --outdir=dist.tmp --entry-names=app \
  --legal-comments=linked --log-level=warning
cp index.html dist.tmp/
echo "$want" > dist.tmp/.stamp
# Swap in whole: a half-written dist never gets embedded.
rm -rf dist && mv dist.tmp dist
echo "web: built $(du -sh dist | cut -f1) into services/web/app/dist"
