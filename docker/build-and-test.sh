#!/usr/bin/env bash
# Builds the tundrill image and tests it, on a machine with Debian's
# docker.io and debootstrap (as root), with no container registry needed:
#
#   1. starts a Docker daemon of its own (own data root and socket, no
#      iptables, no bridge) and stops it on every way out, with its
#      containers and mounts;
#   2. uses node:20-bookworm-slim when it can be pulled, otherwise makes a
#      stand-in: debootstrap bookworm (minbase) plus this machine's Node 20
#      in /usr/local, imported with `docker import`;
#   3. builds the image (`--network host`);
#   4. in containers: doctor with --privileged and with the README's
#      least-privilege flags, doctor's failure and hint for each permission
#      taken away, a seed scenario with a mounted capture folder (both ways),
#      `docker stop` in the middle of a long run (the capture must survive
#      and hold packets), and the integration tests that need the
#      container's permissions (least privilege).
#
#   docker/build-and-test.sh [--no-tests | --build-only] [--new-base]
#
# --new-base makes the node:20-bookworm-slim stand-in again (from the cached
# debootstrap tree) even when an image of that name is there.
#
# Caches, kept between runs: the debootstrap tree as a tarball under
# TUNDRILL_DOCKER_CACHE (default /var/cache/tundrill-docker), named by what
# it is made from and made again after 30 days; the daemon's images and
# build layers under TUNDRILL_DOCKER_STATE (default /var/lib/tundrill-docker).
# Other environment: DEBIAN_MIRROR; TUNDRILL_DOCKER_TESTS (the test files run
# in the container).
set -Eeuo pipefail
cd "$(dirname "$0")/.."
me=docker/build-and-test.sh

run_tests=yes
build_only=no
new_base=no
for arg in "$@"; do
  case $arg in
    --no-tests) run_tests=no ;;
    --build-only) build_only=yes ;;
    --new-base) new_base=yes ;;
    *) echo "usage: $me [--no-tests | --build-only] [--new-base]" >&2; exit 2 ;;
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
# Up to three containers with a budget run at once while two long runs wait
# for their `docker stop`; a container that runs alone gets more (tests
# that judge timing run there).
daemon_rt=900000
rt=200000
rt_alone=800000
# The integration tests whose subject is what a container may do: TUN,
# namespaces, sysctls, real-time priority, the permission probes. The rest is
# the same JavaScript the host's `npm test` runs; the seed scenario and the
# stop are checked above, through the image's entry point.
container_tests=${TUNDRILL_DOCKER_TESTS:-test/integration/native-tun.test.ts test/integration/cli-run.test.ts test/integration/doctor-hints.test.ts}

# The Docker client that matches the daemon (a newer client may be first on PATH).
docker_bin=$(command -v /usr/bin/docker || command -v docker || true)
export DOCKER_HOST=unix://$sock DOCKER_BUILDKIT=0
d() { "$docker_bin" "$@"; }

started=$(date +%s)
failures=0
results=()
times=()
log() { printf '%s %s\n' "$(date +%T)" "$*"; }
pass() { results+=("ok   $*"); log "ok: $*"; }
fail() { results+=("FAIL $*"); log "FAIL: $*"; failures=$((failures + 1)); }
die() { echo "$me: $*" >&2; exit 1; }
# Phase times: `phase NAME` starts one (and ends the previous), `phase` ends it.
phase_name=''
phase_t0=0
phase() {
  local now
  now=$(date +%s)
  [ -n "$phase_name" ] && times+=("$(printf '%-28s %4d s' "$phase_name" $((now - phase_t0)))")
  phase_name=${1:-}
  phase_t0=$now
}
trap 'echo "$me: line $LINENO: \`$BASH_COMMAND\` failed (exit $?)" >&2' ERR

[ "$(id -u)" = 0 ] || { echo "$me: needs root (it starts a Docker daemon)" >&2; exit 4; }
for tool in dockerd "$docker_bin" jq tshark; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$me: ${tool:-docker} is missing (apt-get install docker.io jq tshark debootstrap)" >&2; exit 4; }
done

# ---- the daemon -------------------------------------------------------------------
phase daemon
mkdir -p "$rundir" "$state" "$cache"
# One run at a time: the socket, the exec root and the data root are shared.
exec 9> "$rundir.lock"
if ! flock -n 9; then
  log "waiting for another $me to end (lock $rundir.lock)"
  flock -w 1800 9 || die "another $me still runs after 30 min (lock $rundir.lock)"
fi

# Processes of this script's daemon: dockerd, its containerd and shims
# (their command lines name its exec root).
our_procs() {
  local p cmd
  for p in /proc/[0-9]*; do
    cmd=$(tr '\0' ' ' 2>/dev/null < "$p/cmdline") || continue
    case $cmd in *"$rundir/exec"*) echo "${p#/proc/}" ;; esac
  done
}
# Mounts left under the daemon's folders (a daemon that was killed leaves them).
release_mounts() {
  awk -v a="$state/" -v b="$rundir/" -v w="${work:-/nonexistent}/" \
    'index($2, a) == 1 || index($2, b) == 1 || index($2, w) == 1 {print $2}' /proc/mounts \
    | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
}
stop_daemon() {
  local pid=$1 _
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  local left
  left=$(our_procs)
  if [ -n "$left" ]; then
    # shellcheck disable=SC2086
    kill -9 $left 2>/dev/null || true
    sleep 0.5
  fi
  release_mounts
}

work=''
dockerd_pid=''
cleanup() {
  local code=$?
  set +e
  trap - ERR
  if [ -n "$dockerd_pid" ]; then
    for c in $(d ps -aq 2>/dev/null); do d rm -f "$c" >/dev/null 2>&1; done
    # Images of earlier builds that no tag names any more, after a week (the
    # build stage's layers are such images too: the next build reuses them).
    d image prune -f --filter until=168h >/dev/null 2>&1
    stop_daemon "$dockerd_pid"
  fi
  # debootstrap mounts /proc and /sys in its tree; never delete through a mount.
  [ -n "$work" ] && { release_mounts; rm -rf --one-file-system "$work"; }
  exit "$code"
}
trap cleanup EXIT
trap 'echo "$me: interrupted (SIGINT); cleaning up" >&2; exit 130' INT
trap 'echo "$me: stopped (SIGTERM); cleaning up" >&2; exit 143' TERM

# A daemon left by a run that was killed (the lock says none is running now).
if [ -s "$rundir/dockerd.pid" ] || [ -n "$(our_procs)" ]; then
  log "stopping a daemon left by an earlier run"
  stop_daemon "$(cat "$rundir/dockerd.pid" 2>/dev/null || echo 0)"
  rm -f "$rundir/dockerd.pid" "$sock"
fi
work=$(mktemp -d /var/tmp/tundrill-docker-test.XXXXXX)

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
  --iptables=false --bridge=none "${rt_args[@]}" "${runtime_args[@]}" > "$rundir/dockerd.log" 2>&1 9>&- &
dockerd_pid=$!
up=no
for _ in $(seq 1 300); do
  if d info >/dev/null 2>&1; then up=yes; break; fi
  kill -0 "$dockerd_pid" 2>/dev/null || break
  sleep 0.2
done
if [ "$up" != yes ]; then
  tail -15 "$rundir/dockerd.log" | sed 's/^/    /' >&2
  kill -0 "$dockerd_pid" 2>/dev/null && die "dockerd did not answer on $sock within 60 s (log: $rundir/dockerd.log)"
  die "dockerd exited at start (log: $rundir/dockerd.log)"
fi
log "dockerd $(d version -f '{{.Server.Version}}') on $sock ($(d info -f '{{.Driver}}') storage)"

# ---- the base image ---------------------------------------------------------------
phase base
# The debootstrap tree, named by what makes it; made again when 30 days old.
tree_key=$(printf 'bookworm minbase %s' "$mirror" | sha256sum | cut -c1-12)
tree=$cache/rootfs-bookworm-minbase-$tree_key.tar
[ -f "$tree" ] && [ -n "$(find "$tree" -mtime +30)" ] && rm -f "$tree"
# The stand-in, named by its tree, this machine's Node and CA bundle (a
# TLS-inspecting proxy in front of the npm registry would otherwise fail
# npm ci in the build).
ca=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
standin=standin-$(printf '%s %s %s' "$tree_key" "$(node -p process.versions.node 2>/dev/null)" \
  "$( [ -s "$ca" ] && sha256sum < "$ca" | cut -c1-12)" | sha256sum | cut -c1-12)
have=$(d image inspect -f '{{index .Config.Labels "tundrill.base"}}' "$base" 2>/dev/null) || have=missing
# Another stand-in (another label) is made again; an image without the label was pulled.
if [ "$have" != missing ] && { [ "$new_base" = yes ] || { [ "$have" != "$standin" ] && [ "$have" != '<no value>' ] && [ -n "$have" ]; }; }; then
  d rmi -f "$base" >/dev/null
  have=missing
fi
if [ "$have" != missing ]; then
  log "base $base: present"
elif timeout 60 "$docker_bin" pull "$base" >/dev/null 2>&1; then
  log "base $base: pulled"
else
  if [ -s "$tree" ]; then
    log "base $base: cannot be pulled; debootstrap tree from $tree"
  else
    command -v debootstrap >/dev/null || { echo "$me: cannot pull $base and debootstrap is missing (apt-get install debootstrap)" >&2; exit 4; }
    log "base $base: cannot be pulled; debootstrap bookworm (minbase) from $mirror"
    t0=$(date +%s)
    root=$work/rootfs
    debootstrap --variant=minbase bookworm "$root" "$mirror" > "$work/debootstrap.log" 2>&1 \
      || { tail -20 "$work/debootstrap.log" | sed 's/^/    /' >&2; die "debootstrap bookworm from $mirror failed (the lines above are the end of its log)"; }
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    rm -f "$cache"/rootfs-bookworm-minbase-*.tar "$cache"/bookworm-minbase.tar
    tar -C "$root" -cf "$tree.tmp" . && mv "$tree.tmp" "$tree"
    rm -rf --one-file-system "$root"
    deboot_secs=$(($(date +%s) - t0))
  fi
  command -v node >/dev/null || { echo "$me: node is missing (the stand-in base takes this machine's Node 20)" >&2; exit 4; }
  case $(node -p 'process.versions.node.split(".")[0]') in 20) ;; *) echo "$me: this machine's node is $(node --version), the stand-in needs Node 20" >&2; exit 4 ;; esac
  prefix=$(node -p 'require("path").resolve(process.execPath, "..", "..")')
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  headers=$prefix/include/node
  [ -f "$headers/node_api.h" ] || headers=/usr/include/node
  [ -f "$headers/node_api.h" ] || { echo "$me: Node's headers (node_api.h) are not under $prefix/include/node or /usr/include/node" >&2; exit 4; }
  root=$work/base
  mkdir -p "$root"
  tar -C "$root" -xf "$tree"
  mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules" "$root/usr/local/include"
  cp "$(command -v node)" "$root/usr/local/bin/node"
  cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
  cp -a "$headers" "$root/usr/local/include/node"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  ca_env=()
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
  rm -rf --one-file-system "$root"
  log "base $base: made locally (debootstrap bookworm minbase + Node $(node -p process.versions.node))"
fi

# ---- the image --------------------------------------------------------------------
phase build
[ -n "${deboot_secs:-}" ] && times+=("$(printf '%-28s %4d s' '  of which debootstrap' "$deboot_secs")")
t0=$(date +%s)
# Each line of the build's log with the time it came, to find the slow steps.
if d build --network host -t "$image" . 2>&1 | while IFS= read -r line; do printf '%(%s)T %s\n' -1 "$line"; done > "$work/build.log"; then
  build_secs=$(($(date +%s) - t0))
  pass "image built in ${build_secs} s"
  # The steps that took 5 s or more.
  awk '$2 == "Step" { if (name != "" && $1 - t >= 5) printf "    %4d s  %s\n", $1 - t, name; t = $1; name = substr($0, index($0, $2)) }' \
    "$work/build.log" | cut -c1-110
else
  sed 's/^[0-9]* //' "$work/build.log" | tail -30 | sed 's/^/    /' >&2
  fail "image build (the lines above are the end of its log)"
  exit 1
fi
phase
[ "$build_only" = yes ] && { printf '  %s\n' "${times[@]}"; exit 0; }

# ---- tests in containers ------------------------------------------------------------
privileged=(--privileged)
least=(--cap-add=NET_ADMIN --cap-add=SYS_ADMIN --cap-add=SYS_NICE --device /dev/net/tun
  --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined)
rt_flags=()
rt_alone_flags=()
[ ${#rt_args[@]} -gt 0 ] && { rt_flags=(--cpu-rt-runtime="$rt"); rt_alone_flags=(--cpu-rt-runtime="$rt_alone"); }

# `docker stop` in the middle of a long run: started now, stopped after the
# doctor checks (12 s or more into the run).
phase 'docker stop (start)'
stop_t0=$(date +%s)
for mode in privileged least; do
  declare -n flags=$mode
  mkdir -p "$work/stop-$mode"
  d run -d --name "tundrill-stop-$mode-$$" --init "${flags[@]}" "${rt_flags[@]}" -v "$work/stop-$mode":/captures "$image" \
    run --long /opt/tundrill/scenarios/closing-backoff.ts >/dev/null
done
# Called between the doctor checks: once 12 s have passed, `docker stop`
# both (in the background), noting whether each was still running.
stop_pids=()
stop_at=''
maybe_stop() {
  [ -z "$stop_at" ] && [ $(($(date +%s) - stop_t0)) -ge "${1:-12}" ] || return 0
  stop_at=$(($(date +%s) - stop_t0))
  for mode in privileged least; do
    d inspect -f '{{.State.Running}} {{.State.ExitCode}}' "tundrill-stop-$mode-$$" > "$work/stop-$mode.state"
    ( t0=$(date +%s); d stop -t 20 "tundrill-stop-$mode-$$" >/dev/null; echo $(($(date +%s) - t0)) > "$work/stop-$mode.secs" ) &
    stop_pids+=($!)
  done
}

# doctor: all well with each way of running
phase doctor
for mode in privileged least; do
  declare -n flags=$mode
  if out=$(d run --rm --init "${flags[@]}" "${rt_flags[@]}" "$image" doctor 2>&1); then
    maybe_stop
    pass "doctor ($mode): exit 0"
  else
    maybe_stop
    printf '%s\n' "$out" | sed 's/^/    /'
    fail "doctor ($mode): exit 4"
  fi
done

# doctor names what is missing and the flag that fixes it:
#   hint_case WHAT 'CHECK|FIX TEXT'... -- DOCKER RUN FLAGS...
# passes when doctor exits 4, the checks that FAIL are exactly the CHECKs
# named, and each one's fix line holds its FIX TEXT.
failing_checks() { # doctor's output -> "check<TAB>fix" for each FAIL
  awk '/^  FAIL / { if (n != "") print n "\t" f; n = substr($0, 8); sub(/: .*/, "", n); f = ""; next }
       /^        fix: / { if (n != "") f = substr($0, 14); next }
       /^  (ok  |warn) / { if (n != "") print n "\t" f; n = "" }
       END { if (n != "") print n "\t" f }'
}
hint_case() {
  local what=$1 expect=() out code=0 e got names name problems=''
  shift
  while [ "$1" != -- ]; do expect+=("$1"); shift; done
  shift
  out=$(d run --rm --init "$@" "$image" doctor 2>&1) || code=$?
  maybe_stop
  got=$(failing_checks <<<"$out")
  [ "$code" = 4 ] || problems+=" exit $code, not 4;"
  for e in "${expect[@]}"; do
    if ! awk -F'\t' -v n="${e%%|*}" -v f="${e#*|}" '$1 == n && index($2, f) { found = 1 } END { exit !found }' <<<"$got"; then
      problems+=" no FAIL '${e%%|*}' with fix '${e#*|}';"
    fi
  done
  names=$(printf '%s\n' "${expect[@]}" | cut -d'|' -f1)
  while IFS=$'\t' read -r name _; do
    if [ -n "$name" ] && ! grep -qxF -- "$name" <<<"$names"; then problems+=" unexpected FAIL '$name';"; fi
  done <<<"$got"
  if [ -z "$problems" ]; then
    pass "doctor without $what: exit 4, $(cut -f1 <<<"$got" | paste -sd, | sed 's/,/, /g') failing with the fix named"
  else
    printf '%s\n' "$out" | sed 's/^/    /'
    fail "doctor without $what:$problems"
  fi
}
without() { # the least-privilege flags without those matching $1 (with their option name)
  local i f
  for ((i = 0; i < ${#least[@]}; i++)); do
    f=${least[$i]}
    if [ "$f" = --security-opt ] || [ "$f" = --device ]; then
      [[ ${least[$((i + 1))]} == $1 ]] || printf '%s\n%s\n' "$f" "${least[$((i + 1))]}"
      i=$((i + 1))
      continue
    fi
    [[ $f == $1 ]] || printf '%s\n' "$f"
  done
}
mapfile -t no_net_admin < <(without '--cap-add=NET_ADMIN')
mapfile -t no_sys_admin < <(without '--cap-add=SYS_ADMIN')
mapfile -t no_sys_nice < <(without '--cap-add=SYS_NICE')
mapfile -t no_systempaths < <(without 'systempaths=unconfined')
mapfile -t no_device < <(without '/dev/net/tun')
mapfile -t no_seccomp < <(without 'seccomp=unconfined')
# Custom seccomp profiles (as some hosts have): all allowed but one call.
for call in unshare mount; do
  printf '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["%s"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}\n' "$call" \
    > "$work/seccomp-no-$call.json"
done
# (Root writes its namespace's sysctls without CAP_NET_ADMIN: only the TUN fails.)
hint_case CAP_NET_ADMIN 'TUN device|--cap-add=NET_ADMIN' -- "${no_net_admin[@]}" "${rt_flags[@]}"
hint_case CAP_SYS_ADMIN 'network namespace|--cap-add=SYS_ADMIN' -- "${no_sys_admin[@]}" "${rt_flags[@]}"
hint_case CAP_SYS_NICE 'real-time priority|--cap-add=SYS_NICE plus --cpu-rt-runtime' -- "${no_sys_nice[@]}" "${rt_flags[@]}"
[ ${#rt_flags[@]} -gt 0 ] && hint_case 'a real-time budget' 'real-time priority|no real-time budget: in Docker: --cap-add=SYS_NICE plus --cpu-rt-runtime' -- "${least[@]}"
hint_case 'writable /proc/sys' 'namespace sysctls|--security-opt systempaths=unconfined' -- "${no_systempaths[@]}" "${rt_flags[@]}"
hint_case /dev/net/tun 'TUN device|--device /dev/net/tun' -- "${no_device[@]}" "${rt_flags[@]}"
hint_case 'root (--user 65534)' 'root|run as root' -- --user 65534:65534 "${least[@]}" "${rt_flags[@]}"
hint_case 'unshare (a seccomp profile that denies it)' 'network namespace|seccomp=unconfined' -- \
  "${no_seccomp[@]}" --security-opt "seccomp=$work/seccomp-no-unshare.json" "${rt_flags[@]}"
hint_case 'mount (a seccomp profile that denies it)' 'private /tmp|seccomp=unconfined' -- \
  "${no_seccomp[@]}" --security-opt "seccomp=$work/seccomp-no-mount.json" "${rt_flags[@]}"
# Docker's own seccomp profile allows unshare and mount to CAP_SYS_ADMIN.
if out=$(d run --rm --init "${no_seccomp[@]}" "${rt_flags[@]}" "$image" doctor 2>&1); then
  pass "doctor with Docker's default seccomp profile and the other least-privilege flags: exit 0"
else
  printf '%s\n' "$out" | sed 's/^/    /'
  fail "doctor with Docker's default seccomp profile: exit 4"
fi
# Cubic not allowed by the host: a warning whose fix is on the host. The
# host's setting is shared by everything on this machine, so the container
# is shown another value in its own mount namespace instead.
out=$(d run --rm --init --privileged "${rt_flags[@]}" --entrypoint sh "$image" -c \
  'echo "reno" > /tmp/allowed && mount --bind /tmp/allowed /proc/sys/net/ipv4/tcp_allowed_congestion_control && exec tundrill doctor' 2>&1) && code=0 || code=$?
if [ "$code" = 0 ] && grep -q '^  warn cubic allowed in namespaces: .* = reno$' <<<"$out" && grep -q '^        fix: on the host .*cubic' <<<"$out"; then
  pass "doctor when the host does not allow cubic: exit 0, a warning whose fix is on the host"
else
  printf '%s\n' "$out" | sed 's/^/    /'
  fail "doctor when the host does not allow cubic: exit $code, expected 0 and a warning with a fix on the host"
fi

# ---- docker stop in the middle of a long run: the capture and socket states survive
phase 'docker stop'
left=$((12 - ($(date +%s) - stop_t0)))
[ "$left" -gt 0 ] && sleep "$left"
maybe_stop 0
wait "${stop_pids[@]}"
for mode in privileged least; do
  name=tundrill-stop-$mode-$$
  cap=$work/stop-$mode
  code=$(d inspect -f '{{.State.ExitCode}}' "$name")
  d logs "$name" > "$work/stop-$mode.log" 2>&1
  d rm -f "$name" >/dev/null
  read -r running ended_code < "$work/stop-$mode.state"
  if [ "$running" != true ] || [ "$code" != 143 ]; then
    sed 's/^/    /' "$work/stop-$mode.log"
    if [ "$running" != true ]; then
      fail "docker stop ($mode): the run had already ended (exit $ended_code) ${stop_at} s in, before docker stop (its output is above)"
    else
      fail "docker stop ($mode): exit $code after docker stop ${stop_at} s in, expected 143 (SIGTERM, orderly stop; its output is above)"
    fi
    continue
  fi
  pcap=$(find "$cap" -name '*.pcapng' | head -1)
  packets=0
  [ -n "$pcap" ] && packets=$(tshark -r "$pcap" 2>/dev/null | wc -l)
  verdict=$(jq -r '.summary // empty' "$cap"/*.verdict.json 2>/dev/null | head -1 | cut -c1-100)
  if [ -n "$pcap" ] && tshark -r "$pcap" >/dev/null 2>&1 && [ "$packets" -gt 0 ] && [ -n "$(find "$cap" -name '*.sockets.jsonl' -size +0)" ]; then
    pass "docker stop ${stop_at} s into a long run ($mode): stopped in $(cat "$work/stop-$mode.secs") s, exit $code, $packets packets in $(basename "$pcap") (tshark), socket states kept${verdict:+; verdict: $verdict}"
  else
    sed 's/^/    /' "$work/stop-$mode.log"
    ls -l "$cap" | sed 's/^/    /'
    fail "docker stop ($mode): capture '${pcap:-none}' with $packets packets readable by tshark, socket states $(find "$cap" -name '*.sockets.jsonl' | wc -l) file(s)"
  fi
done

# ---- a seed scenario, evidence in a mounted capture folder
phase 'seed scenario'
for mode in privileged least; do
  declare -n flags=$mode
  cap=$work/captures-$mode
  mkdir -p "$cap"
  t0=$(date +%s)
  code=0
  d run --rm --init "${flags[@]}" "${rt_alone_flags[@]}" -v "$cap":/captures "$image" \
    run /opt/tundrill/scenarios/close-wait.ts > "$work/scenario-$mode.log" 2>&1 || code=$?
  pcap=$(find "$cap" -name '*.pcapng' | head -1)
  packets=0
  [ -n "$pcap" ] && packets=$(tshark -r "$pcap" 2>/dev/null | wc -l)
  if [ "$code" = 0 ] && [ "$packets" -gt 0 ]; then
    pass "close-wait scenario ($mode): exit 0 in $(($(date +%s) - t0)) s, $packets packets in $(basename "$pcap") on the host"
  else
    sed 's/^/    /' "$work/scenario-$mode.log"
    fail "close-wait scenario ($mode): exit $code, capture '${pcap:-none}' with $packets packets"
  fi
done

# ---- the tests whose subject is the container's permissions (least privilege)
if [ "$run_tests" = yes ]; then
  phase 'tests in the container'
  t0=$(date +%s)
  code=0
  mkdir -p "$work/vitest"
  # shellcheck disable=SC2086
  d run --rm --init "${least[@]}" "${rt_alone_flags[@]}" -e NO_COLOR=1 -e CI=true -v "$work/vitest":/out \
    -w /opt/tundrill --entrypoint npx "$image" \
    vitest run --reporter=default --reporter=json --outputFile=/out/vitest.json $container_tests \
    > "$work/tests.log" 2>&1 || code=$?
  counts=$(jq -r '"\(.numPassedTests) \(.numFailedTests) \(.numPendingTests + .numTodoTests)"' "$work/vitest/vitest.json" 2>/dev/null || echo '0 0 0')
  read -r passed failed skipped <<<"$counts"
  if [ "$code" = 0 ] && [ "$passed" -gt 0 ] && [ "$failed" = 0 ] && [ "$skipped" = 0 ]; then
    pass "tests in the container (least privilege): $passed passed, 0 failed, 0 skipped in $(($(date +%s) - t0)) s ($(wc -w <<<"$container_tests") files)"
  else
    tail -60 "$work/tests.log" | sed 's/^/    /'
    fail "tests in the container (least privilege): exit $code, $passed passed, $failed failed, $skipped skipped (none may be skipped: each needs what the container grants)"
  fi
fi
phase

echo
echo "$me: $((${#results[@]} - failures)) passed, $failures failed in $(($(date +%s) - started)) s"
printf '  %s\n' "${results[@]}"
echo "  times:"
printf '    %s\n' "${times[@]}"
[ "$failures" = 0 ] || exit 1
