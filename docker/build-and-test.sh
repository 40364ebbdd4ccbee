#!/usr/bin/env bash
# Builds the tundrill image and tests it, on a machine with Debian's
# docker.io and debootstrap (as root), with no container registry needed:
#
#   1. starts a Docker daemon of its own (own data root and socket, no
#      iptables, no bridge) and stops it on every way out;
#   2. uses node:20-bookworm-slim when it can be pulled, otherwise makes a
#      stand-in: debootstrap bookworm (minbase) plus this machine's Node 20
#      in /usr/local, imported with `docker import`;
#   3. builds the image (`--network host`);
#   4. in containers, with --privileged and with the README's least-privilege
#      flags: doctor, a seed scenario with a mounted capture folder,
#      `docker stop` in the middle of a long run (the capture must survive),
#      doctor's hint for each missing permission, and the tests.
#
#   docker/build-and-test.sh [--no-tests | --build-only] [--new-base]
#
# --new-base makes the node:20-bookworm-slim stand-in again (from the cached
# debootstrap tree) even when an image of that name is there.
#
# Environment: TUNDRILL_DOCKER_STATE (daemon data, default
# /var/lib/tundrill-docker), TUNDRILL_DOCKER_CACHE (the debootstrap tree,
# default /var/cache/tundrill-docker), DEBIAN_MIRROR.
set -euo pipefail
cd "$(dirname "$0")/.."
project=$(pwd)

run_tests=yes
build_only=no
new_base=no
for arg in "$@"; do
  case $arg in
    --no-tests) run_tests=no ;;
    --build-only) build_only=yes ;;
    --new-base) new_base=yes ;;
    *) echo "usage: docker/build-and-test.sh [--no-tests | --build-only] [--new-base]" >&2; exit 2 ;;
  esac
done

state=${TUNDRILL_DOCKER_STATE:-/var/lib/tundrill-docker}
cache=${TUNDRILL_DOCKER_CACHE:-/var/cache/tundrill-docker}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
rundir=/run/tundrill-docker
sock=$rundir/docker.sock
image=tundrill:test
base=node:20-bookworm-slim
# Real-time budget of the daemon's cgroup and of each container (µs per
# second): Docker's default is 0, and then SCHED_RR fails even privileged.
daemon_rt=400000
rt=200000

# The Docker client that matches the daemon (a newer client may be first on PATH).
docker_bin=$(command -v /usr/bin/docker || command -v docker)
export DOCKER_HOST=unix://$sock DOCKER_BUILDKIT=0
d() { "$docker_bin" "$@"; }

started=$(date +%s)
failures=0
results=()
log() { printf '%s %s\n' "$(date +%T)" "$*"; }
pass() { results+=("ok   $*"); log "ok: $*"; }
fail() { results+=("FAIL $*"); log "FAIL: $*"; failures=$((failures + 1)); }

[ "$(id -u)" = 0 ] || { echo "build-and-test.sh: needs root (it starts a Docker daemon)" >&2; exit 4; }
for tool in dockerd "$docker_bin" jq tshark; do
  command -v "$tool" >/dev/null || { echo "build-and-test.sh: $tool is missing (apt-get install docker.io jq tshark debootstrap)" >&2; exit 4; }
done

# ---- the daemon -------------------------------------------------------------------
mkdir -p "$rundir" "$state" "$cache"
work=$(mktemp -d /var/tmp/tundrill-docker-test.XXXXXX)
dockerd_pid=''
cleanup() {
  set +e
  if [ -n "$dockerd_pid" ] && kill -0 "$dockerd_pid" 2>/dev/null; then
    for c in $(d ps -aq 2>/dev/null); do d rm -f "$c" >/dev/null 2>&1; done
    kill "$dockerd_pid"
    for _ in $(seq 1 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$dockerd_pid" 2>/dev/null
  fi
  # debootstrap mounts /proc and /sys in its tree; never delete through a mount.
  awk -v w="$work/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# This machine's root may lack capabilities that --privileged asks for (e.g.
# CAP_SYS_RESOURCE in a container that runs this script): runc would fail
# to apply them. A wrapper drops the capabilities the bounding set lacks
# from each container's spec.
runtime_args=()
bnd=$((16#$(awk '/^CapBnd/ {print $2}' /proc/self/status)))
last_cap=$(cat /proc/sys/kernel/cap_last_cap)
missing=()
cap_names=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE
  NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT
  SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG
  WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE)
for i in $(seq 0 "$last_cap"); do
  if [ $(((bnd >> i) & 1)) = 0 ] && [ -n "${cap_names[$i]:-}" ]; then missing+=("CAP_${cap_names[$i]}"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  wrapper=$rundir/runc-without-missing-caps
  drop=$(printf '"%s",' "${missing[@]}")
  cat > "$wrapper" <<WRAP
#!/bin/sh
# runc, with the capabilities this machine's root lacks (${missing[*]})
# removed from the container's spec.
bundle=''
prev=''
for a in "\$@"; do
  case \$prev in --bundle | -b) bundle=\$a ;; esac
  case \$a in --bundle=*) bundle=\${a#--bundle=} ;; esac
  prev=\$a
done
if [ -n "\$bundle" ] && [ -f "\$bundle/config.json" ]; then
  jq -c '(.process.capabilities // {}) |= with_entries(.value |= ((. // []) - [${drop%,}]))' "\$bundle/config.json" > "\$bundle/config.json.tmp" \\
    && mv "\$bundle/config.json.tmp" "\$bundle/config.json"
fi
exec runc "\$@"
WRAP
  chmod 0755 "$wrapper"
  runtime_args=(--add-runtime "tundrill-runc=$wrapper" --default-runtime tundrill-runc)
  log "this machine's root lacks ${missing[*]}: containers run through $wrapper"
fi

rt_args=()
[ -f /sys/fs/cgroup/cpu/cpu.rt_runtime_us ] && rt_args=(--cpu-rt-runtime "$daemon_rt")
dockerd --data-root "$state/data" --exec-root "$rundir/exec" --pidfile "$rundir/dockerd.pid" -H "unix://$sock" \
  --iptables=false --bridge=none "${rt_args[@]}" "${runtime_args[@]}" > "$rundir/dockerd.log" 2>&1 &
dockerd_pid=$!
for _ in $(seq 1 150); do
  d version >/dev/null 2>&1 && break
  kill -0 "$dockerd_pid" 2>/dev/null || { tail -20 "$rundir/dockerd.log" >&2; echo "build-and-test.sh: dockerd did not start" >&2; exit 1; }
  sleep 0.2
done
d version >/dev/null || { tail -20 "$rundir/dockerd.log" >&2; exit 1; }
log "dockerd $(d version -f '{{.Server.Version}}') on $sock ($(d info -f '{{.Driver}}') storage)"

# ---- the base image ---------------------------------------------------------------
t0=$(date +%s)
# The stand-in carries this machine's CA bundle (a TLS-inspecting proxy in
# front of the npm registry would otherwise fail npm ci in the build).
standin=standin-3
have=$(d image inspect -f '{{index .Config.Labels "tundrill.base"}}' "$base" 2>/dev/null || echo missing)
# An older stand-in (another label) is made again; an image without the label was pulled.
if [ "$have" != missing ] && { [ "$new_base" = yes ] || { [ "$have" != "$standin" ] && [ "$have" != '<no value>' ] && [ -n "$have" ]; }; }; then
  d rmi -f "$base" >/dev/null
  have=missing
fi
if [ "$have" != missing ]; then
  log "base $base: present"
elif timeout 60 "$docker_bin" pull "$base" >/dev/null 2>&1; then
  log "base $base: pulled"
else
  tree=$cache/bookworm-minbase.tar
  if [ ! -s "$tree" ]; then
    command -v debootstrap >/dev/null || { echo "build-and-test.sh: cannot pull $base and debootstrap is missing (apt-get install debootstrap)" >&2; exit 4; }
    log "base $base: cannot be pulled; debootstrap bookworm (minbase) from $mirror"
    root=$work/rootfs
    debootstrap --variant=minbase bookworm "$root" "$mirror" > "$work/debootstrap.log" 2>&1 \
      || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -cf "$tree.tmp" . && mv "$tree.tmp" "$tree"
    rm -rf "$root"
  fi
  node_bin=$(command -v node)
  case $(node -p 'process.versions.node.split(".")[0]') in 20) ;; *) echo "build-and-test.sh: this machine's node is not Node 20" >&2; exit 4 ;; esac
  prefix=$(node -p 'require("path").resolve(process.execPath, "..", "..")')
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  headers=$prefix/include/node
  [ -f "$headers/node_api.h" ] || headers=/usr/include/node
  root=$work/base
  mkdir -p "$root"
  tar -C "$root" -xf "$tree"
  mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules" "$root/usr/local/include"
  cp "$node_bin" "$root/usr/local/bin/node"
  cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
  cp -a "$headers" "$root/usr/local/include/node"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  ca_env=()
  ca=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
  if [ -s "$ca" ]; then
    mkdir -p "$root/etc/ssl"
    cp "$ca" "$root/etc/ssl/host-ca-bundle.pem"
    ca_env=(--change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca-bundle.pem')
  fi
  tar -C "$root" -c . | d import \
    --change "LABEL tundrill.base=$standin" "${ca_env[@]}" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_VERSION='"$(node -p process.versions.node)" \
    --change 'CMD ["node"]' - "$base" >/dev/null
  rm -rf "$root"
  log "base $base: made locally (debootstrap bookworm minbase + Node $(node -p process.versions.node))"
fi
base_secs=$(($(date +%s) - t0))

# ---- the image --------------------------------------------------------------------
t0=$(date +%s)
if d build --network host -t "$image" . > "$work/build.log" 2>&1; then
  build_secs=$(($(date +%s) - t0))
  pass "image built in ${build_secs} s (base ${base_secs} s)"
else
  tail -30 "$work/build.log" >&2
  fail "image build"
  exit 1
fi

[ "$build_only" = yes ] && { echo "docker/build-and-test.sh: base ${base_secs} s, build ${build_secs} s"; exit 0; }

# ---- tests in containers ------------------------------------------------------------
t_tests=$(date +%s)
privileged=(--privileged)
least=(--cap-add=NET_ADMIN --cap-add=SYS_ADMIN --cap-add=SYS_NICE --device /dev/net/tun
  --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined)
rt_flags=()
[ ${#rt_args[@]} -gt 0 ] && rt_flags=(--cpu-rt-runtime="$rt")

# doctor: all well with each way of running
for mode in privileged least; do
  declare -n flags=$mode
  if out=$(d run --rm --init "${flags[@]}" "${rt_flags[@]}" "$image" doctor 2>&1); then
    pass "doctor ($mode): exit 0"
  else
    printf '%s\n' "$out" | sed 's/^/    /'
    fail "doctor ($mode)"
  fi
done

# doctor names what is missing and the flag that fixes it
hint_case() { # name expected-text flags...
  local name=$1 expect=$2
  shift 2
  local out code=0
  out=$(d run --rm --init "$@" "$image" doctor 2>&1) || code=$?
  if [ "$code" = 4 ] && grep -qF -- "$expect" <<<"$out"; then
    pass "doctor without $name: exit 4 and names '$expect'"
  else
    printf '%s\n' "$out" | sed 's/^/    /'
    fail "doctor without $name: exit $code, expected 4 and '$expect'"
  fi
}
without() { # drop flags matching $1 from the least-privilege set (with their option name)
  local i f
  for ((i = 0; i < ${#least[@]}; i++)); do
    f=${least[$i]}
    if [ "$f" = --security-opt ] && [[ ${least[$((i + 1))]:-} == $1 ]]; then i=$((i + 1)); continue; fi
    [[ $f == $1 ]] || printf '%s\n' "$f"
  done
}
mapfile -t no_net_admin < <(without '--cap-add=NET_ADMIN')
mapfile -t no_sys_admin < <(without '--cap-add=SYS_ADMIN')
mapfile -t no_sys_nice < <(without '--cap-add=SYS_NICE')
mapfile -t no_systempaths < <(without 'systempaths=unconfined')
no_device=()
skip_next=no
for f in "${least[@]}"; do
  if [ "$skip_next" = yes ]; then skip_next=no; continue; fi
  if [ "$f" = --device ]; then skip_next=yes; continue; fi
  no_device+=("$f")
done
hint_case NET_ADMIN '--cap-add=NET_ADMIN' "${no_net_admin[@]}" "${rt_flags[@]}"
hint_case SYS_ADMIN '--cap-add=SYS_ADMIN' "${no_sys_admin[@]}" "${rt_flags[@]}"
hint_case SYS_NICE '--cap-add=SYS_NICE' "${no_sys_nice[@]}" "${rt_flags[@]}"
[ ${#rt_flags[@]} -gt 0 ] && hint_case 'a real-time budget' '--cpu-rt-runtime' "${least[@]}"
hint_case 'writable /proc/sys' 'systempaths=unconfined' "${no_systempaths[@]}" "${rt_flags[@]}"
hint_case /dev/net/tun '--device /dev/net/tun' "${no_device[@]}" "${rt_flags[@]}"

# a seed scenario, evidence in a mounted capture folder
for mode in privileged least; do
  declare -n flags=$mode
  cap=$work/captures-$mode
  mkdir -p "$cap"
  t0=$(date +%s)
  code=0
  d run --rm --init "${flags[@]}" "${rt_flags[@]}" -v "$cap":/captures "$image" \
    run /opt/tundrill/scenarios/close-wait.ts > "$work/scenario-$mode.log" 2>&1 || code=$?
  pcap=$(find "$cap" -name '*.pcapng' | head -1)
  if [ "$code" = 0 ] && [ -n "$pcap" ] && tshark -r "$pcap" >/dev/null 2>&1; then
    pass "close-wait scenario ($mode): exit 0 in $(($(date +%s) - t0)) s, $(tshark -r "$pcap" 2>/dev/null | wc -l) packets in $(basename "$pcap") on the host"
  else
    sed 's/^/    /' "$work/scenario-$mode.log"
    fail "close-wait scenario ($mode): exit $code, capture '${pcap:-none}'"
  fi
done

# docker stop in the middle of a long run: the capture and socket states survive
for mode in privileged least; do
  declare -n flags=$mode
  cap=$work/stop-$mode
  mkdir -p "$cap"
  name=tundrill-stop-$mode-$$
  d run -d --name "$name" --init "${flags[@]}" "${rt_flags[@]}" -v "$cap":/captures "$image" \
    run --long /opt/tundrill/scenarios/closing-backoff.ts >/dev/null
  sleep 12
  t0=$(date +%s)
  d stop -t 20 "$name" >/dev/null
  stop_secs=$(($(date +%s) - t0))
  code=$(d inspect -f '{{.State.ExitCode}}' "$name")
  d logs "$name" > "$work/stop-$mode.log" 2>&1
  d rm -f "$name" >/dev/null
  pcap=$(find "$cap" -name '*.pcapng' | head -1)
  packets=0
  [ -n "$pcap" ] && packets=$(tshark -r "$pcap" 2>/dev/null | wc -l)
  if [ -n "$pcap" ] && tshark -r "$pcap" >/dev/null 2>&1 && [ "$packets" -gt 0 ] && [ -n "$(find "$cap" -name '*.ss.jsonl')" ]; then
    pass "docker stop after 12 s ($mode): stopped in ${stop_secs} s, exit $code, $packets packets in the capture"
  else
    sed 's/^/    /' "$work/stop-$mode.log"
    ls -lR "$cap" | sed 's/^/    /'
    fail "docker stop ($mode): capture '${pcap:-none}' with $packets packets"
  fi
done

# the tests, in the container
if [ "$run_tests" = yes ]; then
  for mode in privileged least; do
    declare -n flags=$mode
    t0=$(date +%s)
    code=0
    d run --rm --init "${flags[@]}" "${rt_flags[@]}" -w /opt/tundrill --entrypoint npx "$image" \
      vitest run ${TUNDRILL_DOCKER_TESTS:-test/unit test/integration/cli-run.test.ts test/integration/native-tun.test.ts} \
      > "$work/tests-$mode.log" 2>&1 || code=$?
    summary=$(grep -E '^ +Tests ' "$work/tests-$mode.log" | tail -1 | sed 's/^ *//')
    if [ "$code" = 0 ]; then
      pass "tests in the container ($mode): ${summary:-?} in $(($(date +%s) - t0)) s"
    else
      tail -60 "$work/tests-$mode.log" | sed 's/^/    /'
      fail "tests in the container ($mode): exit $code, ${summary:-?}"
    fi
  done
fi

echo
echo "docker/build-and-test.sh: base ${base_secs} s, build ${build_secs} s, container tests $(($(date +%s) - t_tests)) s, total $(($(date +%s) - started)) s"
printf '  %s\n' "${results[@]}"
[ "$failures" = 0 ] || { echo "$failures failed"; exit 1; }
