#!/usr/bin/env bash
# A second "host" on this machine for tests: a network namespace joined to this one by a veth pair, so a
# process started in it (`ip netns exec NAME ...`) reaches this host only over TCP on HOST_IP, never on
# loopback. The filesystem stays shared, as a cluster's shared run directory would be.
#
#   scripts/hpc/netns-host.sh up NAME [N]    create (or reuse) it; prints HOST_IP=10.231.N.1 NETNS_IP=10.231.N.2
#   scripts/hpc/netns-host.sh down NAME      remove it
set -euo pipefail
cmd=${1:-}; name=${2:-}; n=${3:-1}
[ -n "$name" ] || { echo "usage: $0 up|down NAME [N]" >&2; exit 2; }
[[ "$name" =~ ^[a-z0-9-]{1,10}$ ]] || { echo "NAME: up to 10 of a-z 0-9 -" >&2; exit 2; }
[[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 254 ] || { echo "N: 1..254" >&2; exit 2; }
command -v ip >/dev/null || { echo "ip (iproute2) is not installed" >&2; exit 3; }
[ "$(id -u)" = 0 ] || { echo "network namespaces need root" >&2; exit 3; }
host_if="ap-$name-h"; ns_if="ap-$name-n"
host_ip="10.231.$n.1"; ns_ip="10.231.$n.2"

case "$cmd" in
  up)
    if ! ip netns list | grep -qw "$name"; then
      ip netns add "$name" || { echo "cannot create a network namespace here (no CAP_SYS_ADMIN/NET_ADMIN?)" >&2; exit 3; }
    fi
    if ! ip link show "$host_if" >/dev/null 2>&1; then
      ip link add "$host_if" type veth peer name "$ns_if"
      ip link set "$ns_if" netns "$name"
      ip addr add "$host_ip/30" dev "$host_if"
      ip netns exec "$name" ip addr add "$ns_ip/30" dev "$ns_if"
    fi
    ip link set "$host_if" up
    ip netns exec "$name" ip link set "$ns_if" up
    ip netns exec "$name" ip link set lo up
    echo "HOST_IP=$host_ip NETNS_IP=$ns_ip"
    ;;
  down)
    ip link del "$host_if" 2>/dev/null || true
    ip netns del "$name" 2>/dev/null || true
    ;;
  *) echo "usage: $0 up|down NAME [N]" >&2; exit 2 ;;
esac
