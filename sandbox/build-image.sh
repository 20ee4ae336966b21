#!/usr/bin/env bash
# Build the sandbox image. Tries `docker build` (needs a registry for the base image); when
# that cannot pull, builds the same image offline: debootstrap a minimal Debian from the
# configured Debian mirror, add the user and folders, and `docker import` it. Idempotent:
# an existing image is kept (pass --force to rebuild). Needs root for debootstrap.
set -euo pipefail

IMAGE="${SALE_TUI_SANDBOX_IMAGE:-sale-tui-sandbox:1}"
HERE="$(cd "$(dirname "$0")" && pwd)"
PACKAGES="python3,python3-pytest,python3-venv,python3-pip,git,ripgrep,make,gcc,libc6-dev,procps,ca-certificates"
MIRROR="${SALE_TUI_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [ "${1:-}" != "--force" ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "sandbox: image $IMAGE already built"
  exit 0
fi
started=$(date +%s)
if timeout 60 docker build -q -t "$IMAGE" "$HERE" >/dev/null 2>&1; then
  echo "sandbox: built $IMAGE with docker build in $(( $(date +%s) - started )) s"
  exit 0
fi
echo "sandbox: no registry for the base image; building $IMAGE offline with debootstrap…"
if [ "$(id -u)" != 0 ]; then
  echo "sandbox: the offline build needs root (debootstrap); run: sudo $0" >&2
  exit 1
fi
command -v debootstrap >/dev/null || {
  echo "sandbox: installing debootstrap…"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}
root="$(mktemp -d /tmp/sale-tui-rootfs.XXXXXX)"
trap 'rm -rf "$root"' EXIT
echo "sandbox: [1/3] debootstrap bookworm (minbase + $PACKAGES)…"
debootstrap --variant=minbase --include="$PACKAGES" bookworm "$root" "$MIRROR" \
  | grep --line-buffered -E "^I: (Retrieving|Validating|Extracting|Installing|Configuring|Base system)" \
  | awk '{ n++; if (n % 25 == 0) { printf "  … %s\n", $0; fflush() } }' || true
[ -x "$root/usr/bin/python3" ] || { echo "sandbox: debootstrap failed" >&2; exit 1; }
echo "sandbox: [2/3] adding the sandbox user and trimming caches…"
chroot "$root" useradd --create-home --uid 1000 sandbox
mkdir -p "$root/work" && chroot "$root" chown sandbox:sandbox /work
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
  "$root"/usr/share/man/*
echo "sandbox: [3/3] docker import…"
tar -C "$root" -c . | docker import \
  --change 'USER sandbox' \
  --change 'WORKDIR /work' \
  --change 'ENV HOME=/home/sandbox PYTHONDONTWRITEBYTECODE=1 GIT_AUTHOR_NAME=sale-tui GIT_AUTHOR_EMAIL=sandbox@sale-tui.invalid GIT_COMMITTER_NAME=sale-tui GIT_COMMITTER_EMAIL=sandbox@sale-tui.invalid PATH=/usr/local/bin:/usr/bin:/bin' \
  --change 'CMD ["sleep", "infinity"]' \
  - "$IMAGE" >/dev/null
echo "sandbox: built $IMAGE offline in $(( $(date +%s) - started )) s ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
