#!/usr/bin/env bash
# Proof that the images work together, on this machine's engine, and a record of timings:
#   two hosts (systemd, sshd, their own dockerd) + the registry with notifications on one
#   user-defined network; push the app from here to 127.0.0.1:<port>; every host pulls it
#   by digest through the registry's network name and runs it; the notification endpoint
#   receives exactly the manifest push, with the bearer token.
# Everything it makes is named saltpipe-smoke-* and removed at exit (KEEP=1 keeps it).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

P=saltpipe-smoke
NET=$P
HOSTS=("$P-h1" "$P-h2")
TOKEN="smoke-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
WORK="$(mktemp -d)"
T0=$SECONDS
step() { log "[+$((SECONDS - T0))s] $*"; }
quiet() { "$@" >"$WORK/out" 2>&1 || { cat "$WORK/out" >&2; die "failed: $*"; }; }

remove_all() {
  docker rm -f -v "$P-hook" "$P-registry" "${HOSTS[@]}" >/dev/null 2>&1 || true
  for h in "${HOSTS[@]}"; do docker volume rm "$h-docker" >/dev/null 2>&1 || true; done
  docker network rm "$NET" >/dev/null 2>&1 || true
}
on_exit() {
  if [[ ${KEEP:-} == 1 ]]; then log "KEEP=1: leaving $P-* in place"; else remove_all; fi
  if [[ -n ${PUSHED:-} ]]; then docker rmi "$PUSHED" >/dev/null 2>&1 || true; fi # the tag only
  rm -rf "$WORK"
}
trap on_exit EXIT
remove_all # leftovers of an interrupted run

step "engine and images"
bash "$SALTPIPE_ROOT/scripts/docker-engine.sh"
bash "$SALTPIPE_ROOT/scripts/base-image.sh" >/dev/null
quiet docker build -t saltpipe/host:smoke "$SALTPIPE_ROOT/images/host"
quiet docker build -t saltpipe/registry:smoke "$SALTPIPE_ROOT/images/registry"
quiet docker build -t saltpipe/app:smoke --build-arg APP_VERSION=smoke "$SALTPIPE_ROOT/app"
docker network create "$NET" >/dev/null

step "notification receiver (prints one JSON line per POST)"
docker run -d --name "$P-hook" --network "$NET" saltpipe/debian-runtime:bookworm node -e '
  require("http").createServer((q, s) => {
    let b = ""; q.on("data", (c) => (b += c));
    q.on("end", () => { console.log(JSON.stringify({ auth: q.headers.authorization,
      type: q.headers["content-type"], event: JSON.parse(b || "{}") })); s.end(); });
  }).listen(8000);' >/dev/null

step "registry (config uploaded before start, as a Pulumi docker.Container upload does)"
cat >"$WORK/config.yml" <<EOF
version: 0.1
storage:
  filesystem: { rootdirectory: /var/lib/docker-registry }
  delete: { enabled: true }
http:
  addr: :5000
notifications:
  endpoints:
    - name: smoke
      url: http://$P-hook:8000/hook/registry
      headers:
        Authorization: [Bearer $TOKEN]
      timeout: 1s
      threshold: 5
      backoff: 1s
      ignore:
        mediatypes: [application/octet-stream]
        actions: [pull]
EOF
docker create --name "$P-registry" --network "$NET" --network-alias registry \
  -p 127.0.0.1::5000 saltpipe/registry:smoke >/dev/null
docker cp "$WORK/config.yml" "$P-registry:/etc/docker/registry/config.yml"
docker start "$P-registry" >/dev/null
REG="127.0.0.1:$(docker port "$P-registry" 5000 | head -1 | cut -d: -f2)"

step "hosts (h1: key from AUTHORIZED_KEYS; h2: key uploaded to /root/.ssh)"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/id" -C saltpipe-smoke
HOST_FLAGS=(--cap-add SYS_ADMIN --cap-add NET_ADMIN --security-opt seccomp=unconfined
  --security-opt apparmor=unconfined --tmpfs /run --tmpfs /run/lock
  -v /sys/fs/cgroup:/sys/fs/cgroup:rw -e container=docker)
for h in "${HOSTS[@]}"; do
  key=()
  [[ $h == "${HOSTS[0]}" ]] && key=(-e "AUTHORIZED_KEYS=$(cat "$WORK/id.pub")")
  docker create --name "$h" --hostname "${h#"$P-"}" --network "$NET" "${HOST_FLAGS[@]}" "${key[@]}" \
    -v "$h-docker:/var/lib/docker" -p 127.0.0.1::22 saltpipe/host:smoke >/dev/null
  [[ $h == "${HOSTS[1]}" ]] && docker cp "$WORK/id.pub" "$h:/root/.ssh/authorized_keys"
  docker start "$h" >/dev/null
done

step "push the app from this machine to $REG"
PUSHED="$REG/saltpipe/app:smoke"
docker tag saltpipe/app:smoke "$PUSHED"
for _ in $(seq 30); do curl -fs "http://$REG/v2/" >/dev/null && break; sleep 0.5; done
quiet docker push "$PUSHED"
DIGEST="$(docker inspect -f '{{index .RepoDigests 0}}' "$PUSHED")"
DIGEST="${DIGEST#*@}"
IMAGE="registry:5000/saltpipe/app@$DIGEST"
step "pushed $DIGEST"

on_host() { # ssh through the 127.0.0.1-published port, key auth only
  local port
  port="$(docker port "$1" 22 | head -1 | cut -d: -f2)"
  shift
  ssh -i "$WORK/id" -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR root@127.0.0.1 "$@"
}

for h in "${HOSTS[@]}"; do
  for _ in $(seq 60); do
    state="$(docker exec "$h" systemctl is-system-running --wait 2>/dev/null || true)"
    [[ $state == running ]] && break
    sleep 0.5
  done
  [[ $state == running ]] || die "$h: systemd is '$state': $(docker exec "$h" systemctl --failed --no-legend)"
  step "$h: systemd running, sshd answers: $(on_host "$h" 'hostname; docker info -f "{{.Driver}}"' | paste -sd' ')"
  on_host "$h" "docker pull -q '$IMAGE' >/dev/null &&
    docker run -d --name app -p 127.0.0.1:8080:8080 -e APP_IMAGE_DIGEST='$IMAGE' '$IMAGE' >/dev/null &&
    for i in \$(seq 50); do curl -fs 127.0.0.1:8080/version && exit 0; sleep 0.2; done; exit 1" |
    grep -q "\"imageDigest\":\"$IMAGE\"" || die "$h: app from $IMAGE not serving"
  step "$h: pulled by digest through registry:5000, app serves /version inside the host"
done

sleep 1 # notifications leave the registry's queue asynchronously
events="$(docker logs "$P-hook")"
pushes="$(jq -s --arg d "$DIGEST" --arg a "Bearer $TOKEN" \
  '[.[] | select(.auth == $a and .event.events[0].action == "push"
    and .event.events[0].target.digest == $d)] | length' <<<"$events")"
step "notifications: $(wc -l <<<"$events") POST(s), $pushes manifest push with the token;" \
  "content type $(jq -rs '.[0].type' <<<"$events")"
[[ $pushes -ge 1 ]] || die "no manifest push event with the bearer token"
step "OK"
