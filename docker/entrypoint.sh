#!/bin/sh
# Entry point of the tundrill image: `tundrill` with the container's
# arguments.
#
# - `run` writes its evidence to $TUNDRILL_CAPTURE_DIR (the image sets
#   /captures, where a host folder is meant to be mounted) unless the
#   arguments name a folder (--capture-dir) or ask for none (--no-capture).
# - Evidence written into a capture folder that belongs to someone other
#   than root (a host user's folder, bind-mounted) is handed to that folder's
#   owner when tundrill ends, so the host user can read and delete it.
set -eu

home=${TUNDRILL_HOME:-/opt/tundrill}
cli="$home/bin/tundrill.js"
capture_dir=''

if [ "${1:-}" = run ] && [ -n "${TUNDRILL_CAPTURE_DIR:-}" ]; then
	own=yes
	for arg in "$@"; do
		case $arg in
		--capture-dir | --capture-dir=* | --no-capture) own=no ;;
		--) break ;;
		esac
	done
	if [ "$own" = yes ]; then
		shift
		set -- run --capture-dir "$TUNDRILL_CAPTURE_DIR" "$@"
		capture_dir=$TUNDRILL_CAPTURE_DIR
		mkdir -p "$capture_dir"
	fi
fi

owner=''
if [ -n "$capture_dir" ]; then
	owner=$(stat -c '%u:%g' "$capture_dir")
	[ "$owner" = 0:0 ] && owner=''
fi
if [ -z "$owner" ]; then
	exec node "$cli" "$@"
fi

# Run tundrill as a child, in a process group of its own with its workers,
# to hand the evidence over once all of them are done. A signal this
# process gets (`docker stop`, Ctrl-C) goes to that whole group, as a
# terminal sends Ctrl-C to every process of its foreground job, so the
# workers save what they have before they exit.
setsid node "$cli" "$@" &
child=$!
trap 'kill -s TERM -- -"$child" 2>/dev/null || true' TERM
trap 'kill -s INT -- -"$child" 2>/dev/null || true' INT
status=0
while :; do
	wait "$child" && status=0 || status=$?
	kill -0 "$child" 2>/dev/null || break
done
# Workers may still be writing (after a signal); give them ten seconds.
tries=0
while [ "$tries" -lt 100 ] && kill -0 -- -"$child" 2>/dev/null; do
	sleep 0.1
	tries=$((tries + 1))
done
find "$capture_dir" -user 0 -exec chown -h "$owner" {} + 2>/dev/null || true
exit "$status"
