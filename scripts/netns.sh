#!/usr/bin/env bash
# Runs a command so that none of its network traffic leaves the machine.
#
# As root: inside a private network namespace with loopback and one veth pair (10.77.0.1/24 and 10.77.0.2/24)
# and a default route over it. Chromium gathers no ICE candidates without a default route, and none on `lo`
# alone, so the veth pair is what lets two browsers (or a browser and the native peer) connect, while nothing can
# reach a real interface. Not root (a contributor's laptop): runs the command as is.
#
# Usage: scripts/netns.sh COMMAND [ARG...]
set -euo pipefail
if [ "$#" = 0 ]; then
  echo "usage: scripts/netns.sh COMMAND [ARG...]" >&2
  exit 2
fi
if [ "$(id -u)" != 0 ] || [ -n "${P2P_IN_NETNS:-}" ]; then
  exec "$@"
fi
export P2P_IN_NETNS=1
exec unshare --net -- sh -euc '
  ip link set lo up
  ip link add v0 type veth peer name v1
  ip addr add 10.77.0.1/24 dev v0
  ip addr add 10.77.0.2/24 dev v1
  ip link set v0 up
  ip link set v1 up
  ip route add default dev v0
  exec "$@"' netns "$@"
