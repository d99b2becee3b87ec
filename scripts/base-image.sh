#!/usr/bin/env bash
# Build the local Debian base images (Docker Hub cannot be pulled here), cached by content.
#
#   scripts/base-image.sh [--tag] [runtime|node-build|host|registry|lb]...   (default: all)
#
# Prints one image reference per flavour on stdout (logs go to stderr):
#   saltpipe/debian-<flavour>:<suite>-<hash>   also tagged as the moving alias
#   saltpipe/debian-<flavour>:<suite>          (the default BASE_IMAGE of our Dockerfiles)
# (SALTPIPE_IMAGE_PREFIX replaces `saltpipe` for an isolated set.)
# The hash covers the suite, the flavour's package list and the rootfs recipe below, so a
# changed recipe makes a new image and an unchanged one is never rebuilt. Three levels:
# image tag exists → nothing to do; rootfs tarball cached → `docker import` (seconds);
# else debootstrap (about a minute; downloaded .debs are cached too).
# --tag prints the references without building anything.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SUITE="${SALTPIPE_DEBIAN_SUITE:-bookworm}"
MIRROR="${SALTPIPE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CACHE="$SALTPIPE_CACHE/base"
# Another prefix gives an isolated set of images (measurements, parallel CI runs).
PREFIX="${SALTPIPE_IMAGE_PREFIX:-saltpipe}"

# What each flavour is for:
#   runtime: the app's base (Debian 12's nodejs is 18.x), nothing else.
#   host:    a machine for a Salt minion/master: systemd as init, sshd, its own Docker
#            engine, Python for a pip-installed Salt, nginx as the app proxy — so hosts
#            need no apt at deploy time.
#   registry: Debian's docker-registry (distribution 2.8.2) and nothing else.
#   lb:      Debian's HAProxy (2.6), the local environment's load balancer.
packages() {
  case "$1" in
    runtime) echo ca-certificates nodejs ;;
    host) echo ca-certificates curl dbus docker.io iproute2 nginx openssh-server procps \
      python3 python3-venv systemd systemd-sysv ;;
    registry) echo ca-certificates docker-registry ;;
    lb) echo ca-certificates haproxy ;;
    *) die "unknown flavour '$1' (runtime|node-build|host|registry|lb)" ;;
  esac
}

# The recipe: debootstrap into $1, then trim what a container never needs. Its text is
# part of the hash (declare -f), so editing it invalidates the cache by itself.
build_rootfs() {
  local dir="$1" pkgs="$2"
  mkdir -p "$CACHE/debs"
  debootstrap --variant=minbase --cache-dir="$CACHE/debs" \
    --include="${pkgs// /,}" "$SUITE" "$dir" "$MIRROR" >&2
  # Keep docs, man pages and translations out, now and for any later apt-get install.
  cat >"$dir/etc/dpkg/dpkg.cfg.d/01-saltpipe-nodoc" <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
EOF
  find "$dir/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  rm -rf "$dir"/usr/share/{man,info,locale}/* "$dir"/var/lib/apt/lists/* \
    "$dir"/var/cache/apt/* "$dir"/var/cache/debconf/*-old "$dir"/var/log/*.log
  # Each container gets its own machine id (systemd makes one at boot when empty).
  : >"$dir/etc/machine-id"
  rm -f "$dir/var/lib/dbus/machine-id"
}

# node-build: the app's compile stage = runtime + the repo's own pinned TypeScript compiler
# and Node types, copied from node_modules: offline, and the same compiler the tests use.
TOOLCHAIN=(typescript @types/node undici-types)
toolchain_versions() {
  local p
  for p in "${TOOLCHAIN[@]}"; do
    [[ -f $SALTPIPE_ROOT/node_modules/$p/package.json ]] || die "node_modules/$p missing: run npm ci first"
  done
  # One node for all (a warm run is mostly process starts): "name@version" per line.
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e 'const [root, ...names] = process.argv.slice(1);
    for (const p of names) console.log(`${p}@${require(`${root}/node_modules/${p}/package.json`).version}`)' \
    "$SALTPIPE_ROOT" "${TOOLCHAIN[@]}"
}

build_toolchain_image() {
  local ref="$1" ctx p
  ctx="$(mktemp -d "$CACHE/ctx.XXXXXX")"
  for p in "${TOOLCHAIN[@]}"; do
    mkdir -p "$ctx/node_modules/$(dirname "$p")"
    cp -r "$SALTPIPE_ROOT/node_modules/$p" "$ctx/node_modules/$p"
  done
  # The app builds in /build/app so tsc finds the types in /build/node_modules.
  printf 'FROM %s\nCOPY node_modules /build/node_modules\nWORKDIR /build/app\n' \
    "$(ensure_image runtime no)" >"$ctx/Dockerfile"
  docker build -q -t "$ref" "$ctx" >/dev/null
  rm -rf "$ctx"
}

# Everything that decides an image's content, hashed (declare -f: the recipe's own text).
recipe_hash() {
  case "$1" in
    node-build) { ensure_image runtime yes; toolchain_versions; declare -f build_toolchain_image; } ;;
    *) { echo "$SUITE"; packages "$1"; declare -f build_rootfs; } ;;
  esac | sha256sum | cut -c1-12
}

build_debian_image() {
  local flavour="$1" ref="$2" hash="$3"
  local tarball="$CACHE/$flavour-$SUITE-$hash.tar"
  if [[ ! -s $tarball ]]; then
    [[ $(id -u) == 0 ]] || die "debootstrap needs root"
    command -v debootstrap >/dev/null || die "debootstrap missing: apt-get install -y debootstrap"
    local dir
    dir="$(mktemp -d "$CACHE/rootfs.XXXXXX")"
    # One debootstrap at a time: they share the .deb cache, and two downloads of the same
    # file into it would corrupt each other (the other flavours' steps wait here).
    local debootstrap_lock
    exec {debootstrap_lock}>"$CACHE/debootstrap.lock"
    flock "$debootstrap_lock"
    log "debootstrap $SUITE ($flavour): $(packages "$flavour")"
    build_rootfs "$dir" "$(packages "$flavour")"
    exec {debootstrap_lock}>&-
    # Write then rename, so an interrupted run never leaves a truncated cache entry.
    tar --numeric-owner -C "$dir" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf --one-file-system "$dir" # never follow a mount debootstrap may have left
  fi
  log "importing $tarball as $ref"
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change "LABEL org.opencontainers.image.title=${ref%%:*} saltpipe.recipe=$hash" \
    --change 'CMD ["/bin/bash"]' \
    "$tarball" "$ref" >/dev/null
}

# Print the flavour's reference, building it first unless it exists (or $2 == yes).
ensure_image() {
  local flavour="$1" print_only="$2"
  local repo="$PREFIX/debian-$flavour" hash ref
  hash="$(recipe_hash "$flavour")"
  ref="$repo:$SUITE-$hash"
  if [[ $print_only == yes ]]; then echo "$ref"; return; fi
  # One builder per flavour at a time (parallel test runs); re-check after the wait.
  local lock
  exec {lock}>"$CACHE/$flavour.lock"
  flock "$lock"
  if ! docker image inspect "$ref" >/dev/null 2>&1; then
    case "$flavour" in
      node-build) log "building $ref"; build_toolchain_image "$ref" ;;
      *) build_debian_image "$flavour" "$ref" "$hash" ;;
    esac
  fi
  docker tag "$ref" "$repo:$SUITE"
  exec {lock}>&-
  echo "$ref"
}

print_only=no
[[ ${1:-} == --tag ]] && { print_only=yes; shift; }
mkdir -p "$CACHE"
flavours=("$@")
((${#flavours[@]})) || flavours=(runtime node-build host registry lb)
for flavour in "${flavours[@]}"; do
  ensure_image "$flavour" "$print_only"
done
