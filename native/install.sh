#!/bin/sh
# Builds the native addon (build/Release/tundrill.node) with npm's bundled
# node-gyp, run by npm as the package's "install" script (npm ci, npm
# install, npm run install).
#
# node-gyp would download Node's headers unless told where they are; the
# headers of the running node are used when they are installed beside it
# (Debian's and NodeSource's packages put them in /usr/include/node), so the
# build needs no network.
set -e
prefix=$(node -p 'require("path").resolve(process.execPath, "..", "..")')
if [ -n "$TUNDRILL_NODEDIR" ]; then
	nodedir=$TUNDRILL_NODEDIR
elif [ -f "$prefix/include/node/node_api.h" ]; then
	nodedir=$prefix
elif [ -f /usr/include/node/node_api.h ]; then
	nodedir=/usr
else
	nodedir=
fi
if [ -n "$nodedir" ]; then
	exec node-gyp rebuild --nodedir="$nodedir" "$@"
fi
echo "tundrill: no local Node headers found; node-gyp may download them" >&2
exec node-gyp rebuild "$@"
