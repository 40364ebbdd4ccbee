# tundrill in a container: Debian 12 (bookworm) with Node 20.
#
# Build:
#   docker build -t tundrill .
#
# Run (the simple way; scripts from the current folder, evidence to ./captures):
#   docker run --rm --init --privileged \
#     -v "$PWD":/work -v "$PWD/captures":/captures \
#     tundrill run --ip_version=ipv4 my-test.pkt
#
# Least privilege instead of --privileged:
#   docker run --rm --init \
#     --cap-add=NET_ADMIN --cap-add=SYS_ADMIN --cap-add=SYS_NICE \
#     --device /dev/net/tun \
#     --security-opt seccomp=unconfined \
#     --security-opt apparmor=unconfined \
#     --security-opt systempaths=unconfined \
#     -v "$PWD":/work -v "$PWD/captures":/captures \
#     tundrill run my-test.pkt
#
# Why each one:
# - NET_ADMIN: configure tun0, addresses, routes and qdiscs in each run's
#   namespace. SYS_ADMIN: create the namespaces (unshare --net; the worker
#   pool also unshares a mount namespace for a private /tmp).
# - --device /dev/net/tun: the TUN device (the host needs the tun module).
# - seccomp: unshare, setns and mount are blocked by Docker's default
#   seccomp profile unless the container has CAP_SYS_ADMIN; recent Docker
#   releases lift them with --cap-add=SYS_ADMIN, older ones (and custom
#   profiles) need a profile that allows them, or seccomp=unconfined.
# - apparmor: Docker's default AppArmor profile (on hosts that use
#   AppArmor, Debian and Ubuntu among them) forbids mount and writes under
#   /proc/sys/net, which every run needs for its own sysctls.
# - systempaths: Docker mounts /proc/sys read-only; a namespace's sysctls
#   (net.ipv4.tcp_*, which scripts set) are written there.
# - SYS_NICE: the worker raises its JavaScript thread to real-time priority
#   while a script's clock runs, as packetdrill does; without it runs still
#   work, with less precise timing on a busy machine.
# - --init: a proper PID 1, so Ctrl-C and `docker stop` reach tundrill.
#
# The congestion control the corpus selects (cubic) must be allowed by the
# HOST: net.ipv4.tcp_allowed_congestion_control is one setting for the
# whole machine, read-only inside any network namespace but the host's, so
# no container can change it (not even --privileged, unless it also runs
# with --network host). On the host:
#   tundrill doctor --fix
# or
#   sysctl -w net.ipv4.tcp_allowed_congestion_control="$(sysctl -n net.ipv4.tcp_allowed_congestion_control) cubic"
# `docker run ... tundrill doctor` shows what the container sees.
#
# Evidence: `tundrill run` in this image writes captures, ss timelines and
# counters to /captures (TUNDRILL_CAPTURE_DIR) unless --capture-dir or
# --no-capture is given; mount a host folder there. Files are handed to the
# owner of that folder when the run ends (see docker/entrypoint.sh).
#
# The conformance corpus is not in the image: mount the shared folder next
# to the project, e.g. -v /path/to/shared:/opt/shared:ro, then
#   docker run ... tundrill conformance
# Tests: docker run ... -w /opt/tundrill --entrypoint npm tundrill test
#
# Stages: "build" has the compilers and builds the native addon and the
# TypeScript; the final image copies the built project without them.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- tools every run needs -----------------------------------------------------
FROM ${NODE_IMAGE} AS base
ARG DEBIAN_FRONTEND=noninteractive
# iproute2: ip, ss, tc, nstat; util-linux: unshare; procps: sysctl (scripts
# and the corpus' defaults.sh); python3: %{ }% code blocks; tcpdump and
# tshark read the captures (tshark without the setuid dumpcap question).
RUN echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections \
	&& apt-get update \
	&& apt-get install -y --no-install-recommends \
		iproute2 util-linux procps ethtool python3 tcpdump tshark \
	&& rm -rf /var/lib/apt/lists/*

# ---- build -----------------------------------------------------------------------
FROM base AS build
ARG DEBIAN_FRONTEND=noninteractive
# node-gyp needs python3 (above), make and a C compiler. It finds Node's
# headers in the image's Node installation (/usr/local/include/node, see
# native/install.sh), so the build downloads nothing but npm packages.
RUN apt-get update \
	&& apt-get install -y --no-install-recommends make g++ \
	&& rm -rf /var/lib/apt/lists/*
WORKDIR /opt/tundrill
# `npm ci` in three cached layers: the dependencies (none of them has an
# install script), then the package's own install script (the native addon,
# native/install.sh) and its prepare script (tsc). Changing a TypeScript
# file rebuilds only the last layer.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY binding.gyp ./
COPY native/ native/
RUN npm run install
COPY tsconfig.json ./
COPY src/ src/
RUN npm run build
COPY bin/ bin/
COPY scenarios/ scenarios/
COPY bench/ bench/
COPY test/ test/
COPY vitest.config.ts README.md ./
# Smoke test: the CLI starts and the addon loads.
RUN node bin/tundrill.js --help >/dev/null \
	&& node --input-type=module -e "await import('/opt/tundrill/dist/native/addon.js')"

# ---- the image -------------------------------------------------------------------
FROM base
COPY --from=build /opt/tundrill /opt/tundrill
COPY docker/entrypoint.sh /usr/local/bin/tundrill-entrypoint
RUN chmod 0755 /usr/local/bin/tundrill-entrypoint /opt/tundrill/bin/tundrill.js \
	&& ln -s /opt/tundrill/bin/tundrill.js /usr/local/bin/tundrill \
	&& mkdir -p /captures /work
ENV TUNDRILL_HOME=/opt/tundrill \
	TUNDRILL_CAPTURE_DIR=/captures
WORKDIR /work
ENTRYPOINT ["tundrill-entrypoint"]
CMD ["--help"]
