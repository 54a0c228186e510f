#!/usr/bin/env python3
"""A WHIP publisher for the browser tests, standing in for OBS: aiortc
encodes a generated picture as VP8 (no camera) and publishes it to a WHIP
endpoint, then ends the session with DELETE.

Usage: whip_publish.py URL CA_PEM BEARER_KEY SECONDS
Prints "published <Location>" once the server has answered.
"""

import asyncio
import sys
import urllib.parse

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription, VideoStreamTrack

from whip_http import request as http


async def main(url, ca, key, seconds):
    # No STUN: the appliance is on the LAN and answers with host candidates.
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver(VideoStreamTrack(), direction="sendonly")
    await pc.setLocalDescription(await pc.createOffer())  # gathers every candidate
    loop = asyncio.get_running_loop()
    status, location, answer = await loop.run_in_executor(
        None, http, "POST", url, ca, key, pc.localDescription.sdp.encode()
    )
    if status != 201 or not location:
        raise SystemExit(f"WHIP answered {status} without a Location")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    print(f"published {location}", flush=True)
    await asyncio.sleep(seconds)
    resource = urllib.parse.urljoin(url, location)
    await loop.run_in_executor(None, http, "DELETE", resource, ca, key)
    await pc.close()


if __name__ == "__main__":
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])))
