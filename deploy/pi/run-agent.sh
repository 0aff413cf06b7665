#!/bin/sh
# Starts (or replaces) the pifleet agent container on a Raspberry Pi.
# usage: run-agent.sh <hub-url> <token> [image]
# Re-running it after enrollment is safe: the identity lives in the `pifleet` volume and the
# token is then ignored, so this is also how to upgrade the agent image.
set -eu
HUB="${1:?usage: run-agent.sh <hub-url> <token> [image]}"
TOKEN="${2:?usage: run-agent.sh <hub-url> <token> [image]}"
IMAGE="${3:-${PIFLEET_AGENT_IMAGE:-pifleet/agent:latest}}"

docker pull "$IMAGE" || echo "run-agent: pull failed, using the local image" >&2
docker rm -f pifleet-agent >/dev/null 2>&1 || true
exec docker run -d --restart unless-stopped --name pifleet-agent \
  --network host \
  -v pifleet:/var/lib/pifleet \
  -v /etc/os-release:/host/etc/os-release:ro \
  -e PIFLEET_HUB="$HUB" \
  -e PIFLEET_TOKEN="$TOKEN" \
  "$IMAGE"
