#!/bin/sh
# Private network namespace with a veth pair whose both ends are inside it.
# usage: netns.sh up|down
NS=lanrtc-viewers
case "$1" in
up)
  ip netns add $NS
  ip -n $NS link set lo up
  ip netns exec $NS sysctl -qw net.ipv6.conf.all.accept_dad=0
  ip netns exec $NS sysctl -qw net.ipv6.conf.default.accept_dad=0
  ip -n $NS link add va type veth peer name vb
  ip -n $NS addr add 10.99.7.1/24 dev va
  ip -n $NS addr add 10.99.7.2/24 dev vb
  ip -n $NS link set va up
  ip -n $NS link set vb up
  ip -n $NS addr; ip -n $NS route ;;
down)
  ip netns del $NS ;;
esac
